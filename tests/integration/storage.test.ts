import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmulator, type RunningEmulator } from '../../emulator/src/emulator';
import { STORAGE_MAX_FILE_BYTES } from '../../emulator/src/storage';
import { control, invoke } from '../support/emulator';

const ROOT = path.resolve(__dirname, '../..');
const FIXTURES = path.join(ROOT, 'tests/fixtures/functions');

/**
 * Cloud storage through the real wx-server-sdk (cloud.uploadFile, getTempFileURL, downloadFile,
 * deleteFile) inside emulated functions. Expected shapes come from the SDK sources:
 * wx-server-sdk 4.0.2 (`src/api/cloud/provider/tcb/api/*.ts`: per-file `status` 0 and
 * `errMsg: 'ok'`, TCB_ERR_CODE STORAGE_FILE_NONEXIST = -503003) and @cloudbase/node-sdk 3.17.2
 * `src/storage/index.ts` (getUploadMetadata, then a PUT to the object store).
 */

interface TempUrlAnswer {
  fileList: {
    fileID: string;
    status: number;
    errMsg: string;
    tempFileURL: string;
    maxAge: number;
  }[];
  errMsg: string;
}

describe('cloud storage from functions (real wx-server-sdk)', () => {
  let emulator: RunningEmulator;
  let projectDir: string;

  beforeAll(async () => {
    projectDir = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-'));
    emulator = await startEmulator({ functionsDir: FIXTURES, projectDir, port: 0, inMemory: true });
  });
  afterAll(async () => {
    await emulator.stop();
    fs.rmSync(projectDir, { recursive: true, force: true });
  });

  const files = (data: Record<string, unknown>): Promise<Record<string, unknown>> =>
    invoke(emulator, 'files', data);

  it('uploads through getUploadMetadata and the object store, answering a cloud:// fileID', async () => {
    const answer = await files({
      action: 'upload',
      cloudPath: 'notes/hello.txt',
      text: '你好 storage',
    });
    // fileID format: cloud://<env>.<hex of the env's first two chars>-<env>-<appid>/<path>
    // ('lo' is 6c6f), as fileIDs from the platform look (e.g. cloud://test-f97abe.7465-test-f97abe-1258350000/a.png).
    expect(answer).toEqual({
      fileID: 'cloud://local-env.6c6f-local-env-1250000000/notes/hello.txt',
      // wx-server-sdk fills statusCode from an onResponseReceived hook that node-sdk 3.17.2
      // never calls (no such option in its request code), so the SDK itself reports -1.
      statusCode: -1,
      errMsg: 'uploadFile:ok',
    });
    const listed = await control<{ files: { path: string; size: number; owner: unknown }[] }>(
      emulator,
      'GET',
      '/storage/files',
    );
    expect(listed.files).toEqual([
      expect.objectContaining({
        path: 'notes/hello.txt',
        size: Buffer.byteLength('你好 storage'),
        owner: null,
      }),
    ]);
  });

  it('gives a temporary URL that serves the file and is refused once maxAge passed on the emulated clock', async () => {
    const { fileID } = (await files({ action: 'upload', cloudPath: 'a/b.txt', text: 'temp' })) as {
      fileID: string;
    };
    const answer = (await files({
      action: 'url',
      fileList: [{ fileID, maxAge: 120 }],
    })) as unknown as TempUrlAnswer;
    expect(answer.errMsg).toBe('getTempFileURL:ok');
    expect(answer.fileList).toEqual([
      {
        fileID,
        status: 0,
        errMsg: 'ok',
        maxAge: 120,
        tempFileURL: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\//),
      },
    ]);
    const url = answer.fileList[0].tempFileURL;
    const first = await fetch(url);
    expect(first.status).toBe(200);
    expect(await first.text()).toBe('temp');
    expect(first.headers.get('content-type')).toMatch(/^text\/plain/);

    await emulator.advanceClock(121_000);
    const late = await fetch(url);
    expect(late.status).toBe(403);
    expect(await late.text()).toContain('<Code>AccessDenied</Code>');
    // A forged signature is refused too.
    const forged = await fetch(url.replace(/sign=[0-9a-f]+/, 'sign=' + '0'.repeat(32)));
    expect(forged.status).toBe(403);
  });

  it('downloads a file and deletes it; a missing file is STORAGE_FILE_NONEXIST (-503003)', async () => {
    const { fileID } = (await files({
      action: 'upload',
      cloudPath: 'd/file.txt',
      text: 'bytes here',
    })) as {
      fileID: string;
    };
    expect(await files({ action: 'download', fileID })).toEqual({
      text: 'bytes here',
      errMsg: 'downloadFile:ok',
    });
    expect(await files({ action: 'delete', fileList: [fileID] })).toEqual({
      fileList: [{ fileID, status: 0, errMsg: 'ok' }],
      errMsg: 'deleteFile:ok',
    });
    const again = (await files({ action: 'delete', fileList: [fileID] })) as {
      fileList: { status: number }[];
    };
    expect(again.fileList[0].status).toBe(-503003);
    const url = (await files({ action: 'url', fileList: [fileID] })) as unknown as TempUrlAnswer;
    expect(url.fileList[0]).toEqual(
      expect.objectContaining({ fileID, status: -503003, tempFileURL: '' }),
    );
    const download = await files({ action: 'download', fileID });
    expect(download).toEqual(expect.objectContaining({ failed: true }));
  });

  it('refuses a file over the per-file limit with 413 EntityTooLarge, storing nothing', async () => {
    // The limit is the emulator's own (emulator/docs/storage.md); the XML shape is COS's.
    const ticket = (await (
      await fetch(`${emulator.url}/admin`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ action: 'storage.getUploadMetadata', path: 'big/file.bin' }),
      })
    ).json()) as { data: { url: string; token: string; authorization: string } };
    const res = await fetch(ticket.data.url, {
      method: 'PUT',
      headers: {
        authorization: ticket.data.authorization,
        'x-cos-security-token': ticket.data.token,
      },
      body: new Uint8Array(STORAGE_MAX_FILE_BYTES + 1),
    });
    expect(res.status).toBe(413);
    expect(await res.text()).toContain('<Code>EntityTooLarge</Code>');
    const listed = await control<{ files: { path: string }[] }>(emulator, 'GET', '/storage/files');
    expect(listed.files.map((f) => f.path)).not.toContain('big/file.bin');
  });

  it('answers a fileID of another env as a missing file', async () => {
    const other = 'cloud://prod-1a2b.7072-prod-1a2b-1258350000/a.txt';
    const url = (await files({ action: 'url', fileList: [other] })) as unknown as TempUrlAnswer;
    expect(url.fileList[0]).toEqual(expect.objectContaining({ status: -503003 }));
  });
});

describe('storage control API and persistence', () => {
  it('lists, gets, puts and deletes files under /emulator/v1/storage/files; keeps them in the data dir', async () => {
    const projectDir = fs.mkdtempSync(path.join(os.tmpdir(), 'storage-control-'));
    const dataDir = path.join(projectDir, 'data');
    const start = (): Promise<RunningEmulator> =>
      startEmulator({ functionsDir: FIXTURES, projectDir, port: 0, dataDir });
    let emulator = await start();
    try {
      const base = `${emulator.url}/emulator/v1/storage/files`;
      const put = await fetch(`${base}/img/%E5%9B%BE.png`, {
        method: 'PUT',
        headers: { 'x-wxcloud-openid': 'o_owner' },
        body: new Uint8Array([137, 80, 78, 71]),
      });
      expect(put.status).toBe(200);
      expect(((await put.json()) as { file: unknown }).file).toEqual(
        expect.objectContaining({
          fileID: 'cloud://local-env.6c6f-local-env-1250000000/img/图.png',
          path: 'img/图.png',
          size: 4,
          owner: 'o_owner',
          contentType: 'image/png',
        }),
      );
      await emulator.stop();
      emulator = await start();
      const list = (await (await fetch(`${emulator.url}/emulator/v1/storage/files`)).json()) as {
        files: { path: string }[];
      };
      expect(list.files.map((f) => f.path)).toEqual(['img/图.png']);
      const got = await fetch(`${emulator.url}/emulator/v1/storage/files/img/%E5%9B%BE.png`);
      expect(got.headers.get('content-type')).toBe('image/png');
      expect([...new Uint8Array(await got.arrayBuffer())]).toEqual([137, 80, 78, 71]);
      const del = await fetch(`${emulator.url}/emulator/v1/storage/files/img/%E5%9B%BE.png`, {
        method: 'DELETE',
      });
      expect(await del.json()).toEqual({ deleted: true });
      const missing = await fetch(`${emulator.url}/emulator/v1/storage/files/img/%E5%9B%BE.png`);
      expect(missing.status).toBe(404);
      const bad = await fetch(`${emulator.url}/emulator/v1/storage/files/a//b`, {
        method: 'PUT',
        body: 'x',
      });
      expect(bad.status).toBe(400);
      expect(JSON.stringify(await bad.json())).toContain('empty');
    } finally {
      await emulator.stop();
      fs.rmSync(projectDir, { recursive: true, force: true });
    }
  });
});
