// Loads @platformatic/kafka (ESM only) with Node's real require, outside Jest's module registry.
const { createRequire } = require('node:module');

module.exports = createRequire(__filename)('@platformatic/kafka');
