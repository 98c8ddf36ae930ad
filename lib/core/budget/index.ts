/** The budget guard and cost model: pure, no SDK, time as a parameter. */
export * from './alerts.ts';
export * from './cost.ts';
export * from './guard.ts';
export * from './input.ts';
export * from './ledger.ts';
export * from './merge.ts';
export * from './prices.ts';
