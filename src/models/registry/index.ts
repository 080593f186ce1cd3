/**
 * Models in the workspace (issue 6): stored versions, scoring runs and scores
 * (`model-store.ts`, the contract every model kind writes through).
 */
export * from './model-store.js';
// Churn and propensity models (docs/models.md, "Models: churn and propensity").
export * from './model-definition.js';
export * from './supervised-model.js';
export * from './model-train.js';
export * from './model-score.js';
export * from './model-catalogue.js';
