export * from './capacity.ts';
export * from './managed.ts';
export * from './reweight.ts';
export * from './weights.ts';
