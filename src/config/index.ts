export {
  createConfig,
  storeLocation,
  withPlan,
  STORE_ENGINES,
  type ClickHouseStoreConfig,
  type Config,
  type CreateConfigOptions,
  type DuckDbStoreConfig,
  type StoreConfig,
  type StoreEngine,
} from './config.js';
export {
  findWorkspace,
  initWorkspace,
  loadConfig,
  parseConfigText,
  replacePlanInText,
  resolveWorkspaceDir,
  writePlan,
  type InitWorkspaceResult,
  type LoadConfigOptions,
} from './workspace.js';
export { openStore } from './open-store.js';
export { CONFIG_FILE, strataYamlTemplate } from './strata-yaml.js';
