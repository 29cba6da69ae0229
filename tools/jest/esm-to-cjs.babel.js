// Options of the Jest transform that turns the ES-module-only dependencies into CommonJS for the test runtime.
module.exports = {
  babelrc: false,
  configFile: false,
  presets: [[require.resolve('@babel/preset-env'), { targets: { node: 'current' }, modules: 'commonjs' }]],
  plugins: [[require.resolve('babel-plugin-transform-import-meta'), { module: 'ES6' }]],
};
