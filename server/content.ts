import { catalogItem, type PayConfig } from './config';
import { AppError, ErrorCodes, toErrorReply, type ErrorReply } from './errors';
import { callerOpenid, readEvent, requireString } from './input';
import type { Ledger } from './ledger';
import type { Caller } from './payments';
import type { UnlockRecord } from './records';

/**
 * What a payment unlocks. Each catalog item has one `PAIDCONTENT` record (`_id` = itemId): a public
 * teaser and the paid part (rich text blocks and files). Files live in cloud storage under a
 * private path; records hold their fileIDs. No client may read or write `PAIDCONTENT` or the
 * files (database/PAIDCONTENT.json, storage.json): the only way in is `getcontent`, which checks
 * the caller's unlock and answers short-lived temporary URLs, never a permanent link.
 */

/** A paragraph, a heading or an image of the paid text. */
export type ContentBlock =
  | { type: 'heading'; text: string }
  | { type: 'paragraph'; text: string }
  | { type: 'image'; fileID: string; alt: string };

export interface ContentFile {
  name: string;
  fileID: string;
  /** Bytes, shown before the download. */
  size: number;
  /** What wx.openDocument's fileType takes: pdf, doc, docx, xls, xlsx, ppt, pptx. */
  fileType: string;
}

export interface ContentRecord {
  _id: string;
  itemId: string;
  teaser: { title: string; summary: string; cover?: string };
  body: ContentBlock[];
  files: ContentFile[];
}

/** Ten minutes: long enough to read and download, short enough that a leaked link dies soon. */
export const CONTENT_URL_SECONDS = 600;

/** Reads content records and turns fileIDs into temporary URLs (cloud-content.ts on the cloud). */
export interface ContentStore {
  getContent(itemId: string): Promise<ContentRecord | undefined>;
  /** fileID → temporary URL valid `maxAgeSeconds`; a file that cannot be served is missing. */
  tempUrls(fileIDs: string[], maxAgeSeconds: number): Promise<Map<string, string>>;
}

export interface ContentDeps {
  ledger: Pick<Ledger, 'getUnlock'>;
  content: ContentStore;
  config: PayConfig;
  now: () => number;
}

const ITEM_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;

export interface Teaser {
  itemId: string;
  title: string;
  summary: string;
  /** A temporary URL for the cover image, or '' without one. */
  cover: string;
  /** Price in fen, from the server catalog. */
  totalFee: number;
}

export type LockedContent = Teaser & { locked: true };
export type UnlockedContent = Teaser & {
  locked: false;
  body: (
    { type: 'heading' | 'paragraph'; text: string } | { type: 'image'; url: string; alt: string }
  )[];
  files: { name: string; size: number; fileType: string; url: string }[];
  /** When the URLs stop working (ms since epoch): ask getcontent again after that. */
  urlsExpireAt: number;
};

/** The fileIDs a record needs URLs for: the cover always, the paid ones only when unlocked. */
function fileIdsOf(record: ContentRecord, unlocked: boolean): string[] {
  const ids = record.teaser.cover ? [record.teaser.cover] : [];
  if (unlocked) {
    for (const block of record.body) if (block.type === 'image') ids.push(block.fileID);
    for (const file of record.files) ids.push(file.fileID);
  }
  return [...new Set(ids)];
}

function urlOf(urls: Map<string, string>, fileID: string, itemId: string): string {
  const url = urls.get(fileID);
  if (!url) {
    throw new AppError(
      ErrorCodes.CONTENT_UNAVAILABLE,
      `getcontent: a file of item "${itemId}" is missing from storage; try again later`,
    );
  }
  return url;
}

/**
 * `getcontent` `{itemId}`: the full content with temporary URLs for a caller who holds the unlock,
 * the teaser and `locked: true` for anyone else. The caller is the platform's openid, never the
 * event's; an unlock revoked by a refund locks the content again at the next call (URLs already
 * handed out keep working until they expire, at most CONTENT_URL_SECONDS).
 */
export async function getContent(
  deps: ContentDeps,
  caller: Caller,
  event: unknown,
): Promise<LockedContent | UnlockedContent | ErrorReply> {
  try {
    const input = readEvent('getcontent', event, ['itemId']);
    const itemId = requireString('getcontent', input, 'itemId', ITEM_ID);
    const openid = callerOpenid('getcontent', caller.openid);
    const item = catalogItem(deps.config.catalog, itemId);
    const record = item ? await deps.content.getContent(itemId) : undefined;
    if (!item || !record) {
      throw new AppError(ErrorCodes.UNKNOWN_ITEM, `getcontent: unknown itemId "${itemId}"`);
    }
    const unlocked = Boolean(await deps.ledger.getUnlock(openid, itemId));
    const urls = await deps.content.tempUrls(fileIdsOf(record, unlocked), CONTENT_URL_SECONDS);
    const teaser: Teaser = {
      itemId,
      title: record.teaser.title,
      summary: record.teaser.summary,
      cover: record.teaser.cover ? urlOf(urls, record.teaser.cover, itemId) : '',
      totalFee: item.totalFee,
    };
    if (!unlocked) return { ...teaser, locked: true };
    return {
      ...teaser,
      locked: false,
      body: record.body.map((block) =>
        block.type === 'image'
          ? { type: 'image' as const, url: urlOf(urls, block.fileID, itemId), alt: block.alt }
          : { type: block.type, text: block.text },
      ),
      files: record.files.map((file) => ({
        name: file.name,
        size: file.size,
        fileType: file.fileType,
        url: urlOf(urls, file.fileID, itemId),
      })),
      urlsExpireAt: deps.now() + CONTENT_URL_SECONDS * 1000,
    };
  } catch (err) {
    return toErrorReply(err);
  }
}

export interface CatalogEntry {
  itemId: string;
  title: string;
  summary: string;
  totalFee: number;
  unlocked: boolean;
  /** When the caller unlocked it (ms since epoch), for "my purchases". */
  unlockedAt?: number;
}

/**
 * `getcatalog` `{}`: every item with its price and whether the caller holds its unlock (the list
 * page and "my purchases"). No URLs: covers come with getcontent.
 */
export async function getCatalog(
  deps: ContentDeps,
  caller: Caller,
  event: unknown,
): Promise<{ items: CatalogEntry[] } | ErrorReply> {
  try {
    readEvent('getcatalog', event ?? {}, []);
    const openid = callerOpenid('getcatalog', caller.openid);
    const items = await Promise.all(
      Object.values(deps.config.catalog).map(async (item): Promise<CatalogEntry> => {
        const [record, unlock]: [ContentRecord | undefined, UnlockRecord | undefined] =
          await Promise.all([
            deps.content.getContent(item.id),
            deps.ledger.getUnlock(openid, item.id),
          ]);
        return {
          itemId: item.id,
          title: record?.teaser.title ?? item.title,
          summary: record?.teaser.summary ?? '',
          totalFee: item.totalFee,
          unlocked: Boolean(unlock),
          ...(unlock ? { unlockedAt: unlock.unlockedAt } : {}),
        };
      }),
    );
    return { items };
  } catch (err) {
    return toErrorReply(err);
  }
}
