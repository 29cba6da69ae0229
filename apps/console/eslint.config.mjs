import baseConfig from '../../eslint.config.mjs';

export default [
  ...baseConfig,
  {
    // The pages' script runs in the browser and imports the chart library by the URL the console serves it at.
    files: ['src/assets/**/*.js'],
    rules: { '@nx/enforce-module-boundaries': 'off' },
  },
];
