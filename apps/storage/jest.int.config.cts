module.exports = {
  displayName: 'storage:int',
  preset: '../../jest.int.preset.js',
  rootDir: __dirname,
};
