import type { Doc } from '../values';

/**
 * The console's four basic permissions (简易权限), by the names Tencent Cloud's API uses for them
 * (`AclTag` of DescribeDatabaseACL / ModifyDatabaseACL, WeChat's `dbmodifyacl` `acl_tag`), so a
 * `database/<C>.json` `"permission"` is what deploy would apply. Semantics from the cloud's
 * permission guide (数据库权限控制): the admin side (cloud functions, console) always reads and
 * writes everything; a mini-program never writes records others created; records carry their
 * creator in `_openid`.
 */
export const PERMISSIONS = {
  READONLY: 'all users read, only the creator writes (所有用户可读，仅创建者可读写)',
  PRIVATE: 'only the creator reads and writes (仅创建者可读写)',
  ADMINWRITE: 'all users read, only the admin side writes (所有用户可读，仅管理端可写)',
  ADMINONLY: 'only the admin side reads and writes (仅管理端可读写)',
} as const;

export type Permission = keyof typeof PERMISSIONS;

/**
 * A collection with no rules file (or a file with neither `rules` nor `permission`) has the
 * permission of a new collection: only the creator reads and writes. No official WeChat or
 * CloudBase document states this default (emulator/docs/rules.md lists what was searched); the
 * sources are platform-facts §8 and WeChat's developer community, where users report that a
 * collection created by code gets "仅创建者及管理员可读写"
 * (developers.weixin.qq.com/community/develop/doc/0002aa68828dc842feb7cd09156400).
 */
export const DEFAULT_PERMISSION: Permission = 'PRIVATE';

export function isPermission(value: unknown): value is Permission {
  return typeof value === 'string' && Object.hasOwn(PERMISSIONS, value);
}

export type PresetOperation = 'read' | 'create' | 'update' | 'delete';

/**
 * What a preset makes of one client operation: refused (with why), or allowed with the query
 * narrowed to the caller's own records. Unlike custom rules, a basic permission filters rather
 * than refuses: the platform adds "`_openid` is the caller" to the query by itself (the cloud's
 * security-rules guide says this is why queries needed no `{openid}` before rules existed), so
 * `doc(id).get()`, `.update()` and `.remove()` work for the creator and match nothing for others.
 */
export function applyPermission(
  permission: Permission,
  operation: PresetOperation,
): { denied: string } | { ownOnly: boolean } {
  const adminWrites = permission === 'ADMINWRITE' || permission === 'ADMINONLY';
  if (operation === 'read') {
    if (permission === 'ADMINONLY') return { denied: 'clients may not read this collection' };
    return { ownOnly: permission === 'PRIVATE' };
  }
  if (adminWrites) return { denied: 'only cloud functions (the admin side) may write here' };
  // Creating needs no filter; updates and removals reach only the caller's own records.
  return { ownOnly: operation !== 'create' };
}

/** The query narrowed to records whose `_openid` is the caller. */
export function ownRecords(query: Doc, openid: string): Doc {
  return Object.keys(query).length ? { $and: [query, { _openid: openid }] } : { _openid: openid };
}
