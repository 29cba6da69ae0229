const { NxAppWebpackPlugin } = require('@nx/webpack/app-plugin');
const { basename, join } = require('path');

/**
 * The webpack configuration of every Pulse app (`apps/<name>/webpack.config.js` calls this): a Node bundle of
 * src/main.ts into dist/apps/<name>, built with tsc from the app's tsconfig.app.json, a package.json of its
 * production dependencies, source maps; plus any extra programs (`entries`: name → source file, e.g. the
 * `migrate` command) and the app's migrations folder copied beside them.
 *
 * @param {string} appDir the app's folder (__dirname of its webpack.config.js)
 * @param {{ entries?: Record<string, string>, migrations?: boolean, assets?: object[] }} options  `assets`: more Nx asset
 *   entries (`{ input, glob, output }`), e.g. the files a web page serves
 */
module.exports = function pulseAppWebpack(appDir, options = {}) {
  return {
    output: {
      path: join(appDir, '../../dist/apps', basename(appDir)),
      clean: true,
      ...(process.env.NODE_ENV !== 'production' && { devtoolModuleFilenameTemplate: '[absolute-resource-path]' }),
    },
    plugins: [
      new NxAppWebpackPlugin({
        target: 'node',
        compiler: 'tsc',
        main: './src/main.ts',
        additionalEntryPoints: Object.entries(options.entries ?? {}).map(([entryName, entryPath]) => ({ entryName, entryPath })),
        tsConfig: './tsconfig.app.json',
        assets: [
          ...(options.migrations ? [{ input: './migrations', glob: '*.{sql,cql}', output: 'migrations' }] : []),
          ...(options.assets ?? []),
        ],
        optimization: false,
        outputHashing: 'none',
        generatePackageJson: true,
        sourceMap: true,
      }),
    ],
  };
};
