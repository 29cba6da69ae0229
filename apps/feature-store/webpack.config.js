const { NxAppWebpackPlugin } = require('@nx/webpack/app-plugin');
const { join } = require('path');

module.exports = {
  output: {
    path: join(__dirname, '../../dist/apps/feature-store'),
    clean: true,
    ...(process.env.NODE_ENV !== 'production' && { devtoolModuleFilenameTemplate: '[absolute-resource-path]' }),
  },
  plugins: [
    new NxAppWebpackPlugin({
      target: 'node',
      compiler: 'tsc',
      main: './src/main.ts',
      // `node dist/apps/feature-store/registry-cli.js plan|apply` manages the registry; `migrate.js` applies the SQL migrations.
      additionalEntryPoints: [
        { entryName: 'registry-cli', entryPath: './src/registry-cli.ts' },
        { entryName: 'migrate', entryPath: './src/migrate.ts' },
      ],
      tsConfig: './tsconfig.app.json',
      assets: [{ input: './migrations', glob: '*.sql', output: 'migrations' }],
      optimization: false,
      outputHashing: 'none',
      generatePackageJson: true,
      sourceMap: true,
    }),
  ],
};
