// The build step: writes a file the app serves at /build-info, proving `npm run build` ran.
const { writeFileSync } = require('node:fs');
const { stamp } = require('dev-tools');
writeFileSync('build-info.txt', `${stamp()}\n`);
console.log('Wrote build-info.txt');
