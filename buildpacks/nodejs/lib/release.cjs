'use strict';
// Prints the buildpack's release YAML: a default web process when package.json has a start script.
const fs = require('fs');
const path = require('path');

let start = false;
try {
  const pkg = JSON.parse(fs.readFileSync(path.join(process.argv[2], 'package.json'), 'utf8'));
  start = Boolean(pkg && pkg.scripts && typeof pkg.scripts.start === 'string');
} catch {
  // compile already reported an unreadable package.json
}
console.log('---');
console.log(start ? 'default_process_types:\n  web: npm start' : 'default_process_types: {}');
