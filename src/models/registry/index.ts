/**
 * Models in the workspace (issue 6): stored versions, scoring runs and scores
 * (`model-store.ts`, the contract every model kind writes through).
 */
export * from './model-store.js';
