import type cloud from 'wx-server-sdk';
import type { ContentRecord, ContentStore } from './content';
import { COLLECTIONS } from './records';

type Cloud = typeof cloud;

/** ContentStore over the cloud database and storage, through wx-server-sdk (server side: no rules). */
export class CloudContentStore implements ContentStore {
  constructor(private readonly sdk: Cloud) {}

  async getContent(itemId: string): Promise<ContentRecord | undefined> {
    const res = (await this.sdk
      .database()
      .collection(COLLECTIONS.content)
      .where({ _id: itemId })
      .limit(1)
      .get()) as unknown as { data: ContentRecord[] };
    return res.data[0];
  }

  async tempUrls(fileIDs: string[], maxAgeSeconds: number): Promise<Map<string, string>> {
    const urls = new Map<string, string>();
    // getTempFileURL takes at most 50 files per call ("一次最多取 50 个").
    for (let i = 0; i < fileIDs.length; i += 50) {
      const res = (await this.sdk.getTempFileURL({
        fileList: fileIDs.slice(i, i + 50).map((fileID) => ({ fileID, maxAge: maxAgeSeconds })),
      })) as unknown as { fileList: { fileID: string; status: number; tempFileURL: string }[] };
      for (const file of res.fileList) {
        if (file.status === 0 && file.tempFileURL) urls.set(file.fileID, file.tempFileURL);
      }
    }
    return urls;
  }
}
