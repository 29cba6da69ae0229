const { NxAppWebpackPlugin } = require('@nx/webpack/app-plugin');
const { join } = require('path');

module.exports = {
  output: {
    path: join(__dirname, '../../dist/apps/console'),
    clean: true,
    ...(process.env.NODE_ENV !== 'production' && { devtoolModuleFilenameTemplate: '[absolute-resource-path]' }),
  },
  plugins: [
    new NxAppWebpackPlugin({
      target: 'node',
      compiler: 'tsc',
      main: './src/main.ts',
      tsConfig: './tsconfig.app.json',
      // The pages' script and styles, and the chart library from its npm package: served by the app, never a CDN.
      assets: [
        { input: './src/assets', glob: '*.{js,css}', output: 'assets' },
        { input: join(__dirname, '../../node_modules/uplot/dist'), glob: 'uPlot.{esm.js,min.css}', output: 'assets/vendor' },
      ],
      optimization: false,
      outputHashing: 'none',
      generatePackageJson: true,
      sourceMap: true,
    }),
  ],
};
