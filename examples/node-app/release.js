// The release phase: runs before a new release goes live; a non-zero exit stops the release.
// Set the config var RELEASE_EXIT_CODE to make it fail on purpose.
console.log(`release phase ran for ${process.env.HEROKU_RELEASE_VERSION || '?'}`);
process.exit(Number(process.env.RELEASE_EXIT_CODE || 0));
