const { join } = require('path');

// The pages' script and styles, and the chart library from its npm package: served by the app, never a CDN.
module.exports = require('../../tools/webpack/app.webpack')(__dirname, {
  assets: [
    { input: './src/assets', glob: '*.{js,css}', output: 'assets' },
    { input: join(__dirname, '../../node_modules/uplot/dist'), glob: 'uPlot.{esm.js,min.css}', output: 'assets/vendor' },
  ],
});
