// Fails the build unless the API_BASE config var is set (config vars reach the build via ENV_DIR).
if (!process.env.API_BASE) {
  console.log('Build step failed: missing API_BASE setting');
  process.exit(1);
}
console.log(`Building against ${new URL(process.env.API_BASE).host}`);
