// The page's door to what a payment unlocks: the `getcontent` and `getcatalog` functions, and
// opening a paid file (wx.downloadFile of its temporary URL, then wx.openDocument). The content
// never ships in the package and is never read from the database or storage directly (no client
// may): the server decides, per call, whether this user holds the unlock.

export interface ContentWx {
  cloud: {
    callFunction(param: {
      name: string;
      data: Record<string, unknown>;
    }): Promise<{ result?: unknown }>;
  };
  // Callback style: wx.downloadFile returns a DownloadTask, not a Promise.
  downloadFile(param: {
    url: string;
    success?: (res: { tempFilePath: string; statusCode: number }) => void;
    fail?: (err: { errMsg: string }) => void;
  }): unknown;
  openDocument(param: {
    filePath: string;
    fileType?: 'doc' | 'docx' | 'xls' | 'xlsx' | 'ppt' | 'pptx' | 'pdf';
    showMenu?: boolean;
    success?: (res: unknown) => void;
    fail?: (err: { errMsg: string }) => void;
  }): unknown;
}

export interface Teaser {
  itemId: string;
  title: string;
  summary: string;
  /** A temporary URL ('' without a cover). */
  cover: string;
  totalFee: number;
}

export type ContentBlock =
  { type: 'heading' | 'paragraph'; text: string } | { type: 'image'; url: string; alt: string };

export interface PaidFile {
  name: string;
  size: number;
  fileType: string;
  url: string;
}

export type ContentAnswer =
  | { kind: 'locked'; teaser: Teaser }
  | { kind: 'unlocked'; teaser: Teaser; body: ContentBlock[]; files: PaidFile[] }
  | { kind: 'error'; errcode: number; errmsg: string };

export interface CatalogItem {
  itemId: string;
  title: string;
  summary: string;
  totalFee: number;
  unlocked: boolean;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const str = (value: unknown): string => (typeof value === 'string' ? value : '');

function errorOf(result: unknown, fn: string): { kind: 'error'; errcode: number; errmsg: string } {
  if (isRecord(result) && typeof result.errcode === 'number') {
    return { kind: 'error', errcode: result.errcode, errmsg: str(result.errmsg) };
  }
  return { kind: 'error', errcode: -1, errmsg: `${fn} answered nothing usable` };
}

export function parseContentAnswer(result: unknown): ContentAnswer {
  if (!isRecord(result) || typeof result.locked !== 'boolean') return errorOf(result, 'getcontent');
  const teaser: Teaser = {
    itemId: str(result.itemId),
    title: str(result.title),
    summary: str(result.summary),
    cover: str(result.cover),
    totalFee: typeof result.totalFee === 'number' ? result.totalFee : 0,
  };
  if (result.locked) return { kind: 'locked', teaser };
  const body: ContentBlock[] = (Array.isArray(result.body) ? result.body : [])
    .filter(isRecord)
    .map((block): ContentBlock =>
      block.type === 'image'
        ? { type: 'image', url: str(block.url), alt: str(block.alt) }
        : { type: block.type === 'heading' ? 'heading' : 'paragraph', text: str(block.text) },
    );
  const files: PaidFile[] = (Array.isArray(result.files) ? result.files : [])
    .filter(isRecord)
    .map((file) => ({
      name: str(file.name),
      size: typeof file.size === 'number' ? file.size : 0,
      fileType: str(file.fileType),
      url: str(file.url),
    }));
  return { kind: 'unlocked', teaser, body, files };
}

export function parseCatalog(
  result: unknown,
): CatalogItem[] | { kind: 'error'; errcode: number; errmsg: string } {
  if (!isRecord(result) || !Array.isArray(result.items)) return errorOf(result, 'getcatalog');
  return result.items.filter(isRecord).map((item) => ({
    itemId: str(item.itemId),
    title: str(item.title),
    summary: str(item.summary),
    totalFee: typeof item.totalFee === 'number' ? item.totalFee : 0,
    unlocked: item.unlocked === true,
  }));
}

const DOCUMENT_TYPES = ['doc', 'docx', 'xls', 'xlsx', 'ppt', 'pptx', 'pdf'] as const;
type DocumentType = (typeof DOCUMENT_TYPES)[number];

export interface ContentApi {
  getContent(itemId: string): Promise<ContentAnswer>;
  getCatalog(): Promise<CatalogItem[] | { kind: 'error'; errcode: number; errmsg: string }>;
  /** Downloads a paid file's temporary URL and opens it; rejects with the platform's errMsg. */
  openFile(file: PaidFile): Promise<void>;
}

export function createContentApi(wx: ContentWx): ContentApi {
  return {
    async getContent(itemId) {
      const answer = await wx.cloud.callFunction({ name: 'getcontent', data: { itemId } });
      return parseContentAnswer(answer.result);
    },
    async getCatalog() {
      const answer = await wx.cloud.callFunction({ name: 'getcatalog', data: {} });
      return parseCatalog(answer.result);
    },
    openFile(file) {
      return new Promise<void>((resolve, reject) => {
        wx.downloadFile({
          url: file.url,
          success: (res) => {
            // An expired link answers 403: the page asks getcontent for fresh links and retries.
            if (res.statusCode !== 200)
              return reject(new Error(`download answered ${res.statusCode}`));
            const fileType = (DOCUMENT_TYPES as readonly string[]).includes(file.fileType)
              ? (file.fileType as DocumentType)
              : undefined;
            wx.openDocument({
              filePath: res.tempFilePath,
              ...(fileType ? { fileType } : {}),
              showMenu: true,
              success: () => resolve(),
              fail: (err) => reject(new Error(err.errMsg)),
            });
          },
          fail: (err) => reject(new Error(err.errMsg)),
        });
      });
    },
  };
}
