'use strict';
exports.stamp = () => `built at ${new Date().toISOString()}`;
