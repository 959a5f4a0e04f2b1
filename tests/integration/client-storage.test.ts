import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createWx, startEmulator, type EmulatedWx, type RunningEmulator } from '../../emulator/src';
import { invoke } from '../support/emulator';

const FIXTURES = path.resolve(__dirname, '../fixtures/functions');

/**
 * wx.cloud storage from the mini-program side (createWx) under storage permissions.
 * Source for the permissions: 云存储安全规则 (developers.weixin.qq.com/miniprogram/dev/wxcloud/
 * guide/storage/security-rules): rules apply only to client requests, server code always has
 * full access; `read` covers download and temporary links, `write` upload/overwrite/delete; the
 * default basic permission is "所有用户可读，仅创建者可读写" (READONLY). errCodes: -503002
 * STORAGE_EXCEED_AUTHORITY, -503003 STORAGE_FILE_NONEXIST (wx-server-sdk TCB_ERR_CODE, the same
 * table the mini-program SDK reports).
 */

async function withProject(
  storageJson: unknown,
  run: (emulator: RunningEmulator) => Promise<void>,
): Promise<void> {
  const projectDir = fs.mkdtempSync(path.join(os.tmpdir(), 'client-storage-'));
  if (storageJson !== undefined) {
    fs.writeFileSync(path.join(projectDir, 'storage.json'), JSON.stringify(storageJson));
  }
  const emulator = await startEmulator({
    functionsDir: FIXTURES,
    projectDir,
    port: 0,
    inMemory: true,
  });
  try {
    await run(emulator);
  } finally {
    await emulator.stop();
    fs.rmSync(projectDir, { recursive: true, force: true });
  }
}

function localFile(wx: EmulatedWx, name: string, text: string): string {
  const filePath = `${wx.env.USER_DATA_PATH}/${name}`;
  wx.getFileSystemManager().writeFileSync(filePath, text, 'utf8');
  return filePath;
}

describe('wx.cloud storage through createWx', () => {
  it('under the default permission (no storage.json): all read, only the creator writes', () =>
    withProject(undefined, async (emulator) => {
      const alice = createWx({ url: emulator.url, openid: 'o_alice' });
      const bob = createWx({ url: emulator.url, openid: 'o_bob' });
      const uploaded = await alice.cloud.uploadFile({
        cloudPath: 'photos/cat.txt',
        filePath: localFile(alice, 'cat.txt', 'meow'),
      });
      expect(uploaded).toEqual({
        fileID: 'cloud://local-env.6c6f-local-env-1250000000/photos/cat.txt',
        statusCode: 200,
        errMsg: 'cloud.uploadFile:ok',
      });
      const { fileID } = uploaded;

      // Bob may read: a temporary link and a download.
      const urls = await bob.cloud.getTempFileURL({ fileList: [fileID] });
      expect(urls.fileList[0]).toEqual(
        expect.objectContaining({ fileID, status: 0, errMsg: 'ok' }),
      );
      const downloaded = await bob.cloud.downloadFile({ fileID });
      expect(downloaded.statusCode).toBe(200);
      expect(bob.getFileSystemManager().readFileSync(downloaded.tempFilePath, 'utf8')).toBe('meow');

      // Bob may neither delete nor overwrite Alice's file.
      const bobDelete = await bob.cloud.deleteFile({ fileList: [fileID] });
      expect(bobDelete.fileList).toEqual([
        { fileID, status: -503002, errMsg: expect.any(String) as string },
      ]);
      await expect(
        bob.cloud.uploadFile({
          cloudPath: 'photos/cat.txt',
          filePath: localFile(bob, 'x.txt', 'woof'),
        }),
      ).rejects.toEqual(expect.objectContaining({ errCode: -503002 }));
      const denials = emulator.events.since(0, 'storage.denied').map((e) => e.data);
      expect(denials).toEqual([
        expect.objectContaining({
          action: 'storage.batchDeleteFile',
          openid: 'o_bob',
          path: 'photos/cat.txt',
        }),
        expect.objectContaining({
          action: 'storage.getUploadMetadata',
          openid: 'o_bob',
          path: 'photos/cat.txt',
        }),
      ]);

      // Alice may delete her own file; afterwards it is gone for everyone.
      const aliceDelete = await alice.cloud.deleteFile({ fileList: [fileID] });
      expect(aliceDelete.fileList).toEqual([{ fileID, status: 0, errMsg: 'ok' }]);
      await expect(bob.cloud.downloadFile({ fileID })).rejects.toEqual(
        expect.objectContaining({ errCode: -503003 }),
      );
    }));

  it('ADMINONLY: clients can do nothing, server code still can (it bypasses permissions)', () =>
    withProject({ permission: 'ADMINONLY' }, async (emulator) => {
      const server = await invoke<{ fileID: string }>(emulator, 'files', {
        action: 'upload',
        cloudPath: 'private/report.txt',
        text: 'secret',
      });
      const wx = createWx({ url: emulator.url, openid: 'o_someone' });
      const urls = await wx.cloud.getTempFileURL({ fileList: [server.fileID] });
      expect(urls.fileList[0]).toEqual(
        expect.objectContaining({ status: -503002, tempFileURL: '' }),
      );
      await expect(wx.cloud.downloadFile({ fileID: server.fileID })).rejects.toEqual(
        expect.objectContaining({ errCode: -503002 }),
      );
      // A guessed fileID that does not exist gets the same answer as one that does.
      const guessed = await wx.cloud.getTempFileURL({
        fileList: ['cloud://local-env.6c6f-local-env-1250000000/private/other.txt'],
      });
      expect(guessed.fileList[0].status).toBe(-503002);
      await expect(
        wx.cloud.uploadFile({ cloudPath: 'mine.txt', filePath: localFile(wx, 'm.txt', 'x') }),
      ).rejects.toEqual(expect.objectContaining({ errCode: -503002 }));
      const serverUrl = await invoke<{ fileList: { status: number; tempFileURL: string }[] }>(
        emulator,
        'files',
        { action: 'url', fileList: [server.fileID] },
      );
      expect(serverUrl.fileList[0].status).toBe(0);
      expect(await (await fetch(serverUrl.fileList[0].tempFileURL)).text()).toBe('secret');
    }));

  it('custom rules: reads only under public/ (a regex on resource.path), uploads by signed-in users', () =>
    withProject(
      { rules: { read: '/^public\\//.test(resource.path) == true', write: 'auth != null' } },
      async (emulator) => {
        const wx = createWx({ url: emulator.url, openid: 'o_writer' });
        const pub = await wx.cloud.uploadFile({
          cloudPath: 'public/a.txt',
          filePath: localFile(wx, 'a.txt', 'open'),
        });
        const hidden = await wx.cloud.uploadFile({
          cloudPath: 'hidden/b.txt',
          filePath: localFile(wx, 'b.txt', 'closed'),
        });
        const urls = await wx.cloud.getTempFileURL({ fileList: [pub.fileID, hidden.fileID] });
        expect(urls.fileList.map((f) => f.status)).toEqual([0, -503002]);
      },
    ));

  it('a storage.json outside the emulated language stops the start, naming the file and rule', async () => {
    const projectDir = fs.mkdtempSync(path.join(os.tmpdir(), 'client-storage-'));
    fs.writeFileSync(
      path.join(projectDir, 'storage.json'),
      JSON.stringify({ rules: { read: 'get("x") == 1', write: false } }),
    );
    await expect(
      startEmulator({ functionsDir: FIXTURES, projectDir, port: 0, inMemory: true }),
    ).rejects.toThrow(/storage\.json: storage rule "read"/);
    fs.rmSync(projectDir, { recursive: true, force: true });
  });

  it('wx.downloadFile + wx.openDocument open a file from a temporary link', () =>
    withProject({ permission: 'READONLY' }, async (emulator) => {
      const opened: string[] = [];
      const wx = createWx({
        url: emulator.url,
        openid: 'o_reader',
        onOpenDocument: (file) => opened.push(new TextDecoder().decode(file.bytes)),
      });
      const up = await wx.cloud.uploadFile({
        cloudPath: 'docs/guide.pdf',
        filePath: localFile(wx, 'g.pdf', '%PDF-1.4 fake'),
      });
      const link = (await wx.cloud.getTempFileURL({ fileList: [up.fileID] })).fileList[0];
      const file = await wx.downloadFile({ url: link.tempFileURL });
      expect(file).toEqual({
        tempFilePath: expect.stringMatching(/^wxfile:\/\/tmp_.+\.pdf$/) as string,
        statusCode: 200,
        errMsg: 'downloadFile:ok',
      });
      expect(await wx.openDocument({ filePath: file.tempFilePath, fileType: 'pdf' })).toEqual({
        errMsg: 'openDocument:ok',
      });
      expect(opened).toEqual(['%PDF-1.4 fake']);
    }));
});
