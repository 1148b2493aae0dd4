// Starts, then crashes: used to test crash detection and restart back-off.
console.log('crashing on purpose');
setTimeout(() => process.exit(1), 200);
