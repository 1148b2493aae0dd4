// A background process: logs a tick every 2 seconds until told to stop.
const timer = setInterval(() => console.log('worker tick'), 2000);
console.log('worker tick');

process.on('SIGTERM', () => {
  console.log('worker received SIGTERM, shutting down');
  clearInterval(timer);
  process.exit(0);
});
