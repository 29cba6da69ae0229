export * from './hash';
export * from './assignment';
