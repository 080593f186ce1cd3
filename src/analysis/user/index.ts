/**
 * One user's profile as of an instant (`strata user USER_ID`): traits, activity, current
 * segments and lifecycle stage evaluated in memory over the user's own data, key moments,
 * and membership over the stored snapshots.
 *
 *   userProfile(sources, userId, {asOfMs, recentEvents?, showPii?})
 *   readUser(store, plan, userId, asOfMs)   the user's rows, typed for the in-memory evaluator
 */
export {
  userProfile,
  DEFAULT_RECENT_EVENTS,
  type UserProfile,
  type UserProfileOptions,
  type UserProfileSources,
  type UserTrait,
  type UserEvent,
  type UserSegment,
  type UserMoment,
  type LifecycleStageIR,
  type LifecycleStageResult,
  type MembershipHistory,
  type MembershipPoint,
  type MembershipTransition,
  type ProfileValue,
} from './user-profile.js';
export { readUser, type StoredUser } from './user-data.js';
