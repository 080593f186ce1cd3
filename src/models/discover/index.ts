/**
 * Discovery (issue 6): patterns manual analysis misses.
 * - Personas (`personas*.ts`): k-means++ on standardized behavioural features as of T, k by
 *   silhouette, named, ids kept across refreshes; stored as a `personas` model with a `cluster`
 *   run that the `{cluster: KEY, eq: ID}` condition reads. `strata discover personas`.
 * - Drivers (`drivers*.ts`, helper "drivers"): early behaviours that predict an outcome.
 */
export {
  discoverPersonas,
  showPersonas,
  DEFAULT_PERSONAS_KEY,
  DEFAULT_ACTIVE_DAYS,
  PERSONA_WINDOWS_DAYS,
  type DiscoverPersonasOptions,
  type DiscoveredPersonas,
  type PersonaPhase,
  type PersonaPopulation,
} from './personas.js';
export { fitPersonas, searchK, isLoggedFeature, log1pColumns, personaFeatureLabel, type PersonaFit, type PersonaFitOptions } from './personas-fit.js';
export {
  assignPersonaIds,
  parsePersonaBody,
  PERSONAS_FORMAT,
  PERSONAS_FORMAT_VERSION,
  type PersonaChanges,
  type PersonaFeature,
  type PersonaModelBody,
  type PersonaPopulationRecord,
  type PersonaReport,
  type PersonaSettings,
  type PersonaSummary,
} from './personas-model.js';
// Drivers (helper "drivers" owns drivers*.ts and lists its exports in drivers-index.ts).
export * from './drivers-index.js';
