export {
  SegmentRegistry,
  type SegmentRegistryOptions,
  type AsOfOptions,
  type MembersOptions,
  type WriteMembersOptions,
  type DiffOptions,
  type ReportOptions,
} from './segment-registry.js';
export type * from './registry-types.js';
export { MEMBER_FORMATS, writeMemberIds } from './member-export.js';
export { closeKeys } from './close-keys.js';
