import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from '../../deploy/src/cli';
import {
  applyContent,
  formatContentPlan,
  planContent,
  type UploadForm,
} from '../../deploy/src/content';
import { PlanError } from '../../deploy/src/plan';
import type { Fetch } from '../../deploy/src/wechat-api';

/**
 * `npm run deploy -- --content`, offline: the requests it would send for content/, against a fake
 * WeChat API and a fake COS. Request shapes: 云开发 HTTP API (tcb/uploadfile answers url, token,
 * authorization, file_id, cos_file_id; the file then goes by form POST with key, Signature,
 * x-cos-security-token, x-cos-meta-fileid; tcb/databasedelete and tcb/databaseadd take {env,
 * query}). Unverified against the live API (no account here).
 */

const repoRoot = path.resolve(__dirname, '../..');
const ENV = 'prod-8g2k3abc1234';

function project(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-content-'));
  fs.mkdirSync(path.join(root, 'database'));
  fs.writeFileSync(
    path.join(root, 'database', 'PAIDCONTENT.json'),
    '{"rules":{"read":false,"write":false}}',
  );
  fs.mkdirSync(path.join(root, 'content', 'storage', 'paid', 'a'), { recursive: true });
  fs.mkdirSync(path.join(root, 'content', 'database'), { recursive: true });
  fs.writeFileSync(path.join(root, 'content', 'storage', 'paid', 'a', 'doc.pdf'), '%PDF-1.4 x');
  fs.writeFileSync(
    path.join(root, 'content', 'database', 'PAIDCONTENT.json'),
    JSON.stringify([
      {
        _id: 'a',
        itemId: 'a',
        files: [{ name: 'doc.pdf', fileID: { $fileID: 'paid/a/doc.pdf' } }],
      },
    ]),
  );
  return root;
}

function fakes() {
  const requests: { path: string; body: Record<string, unknown> }[] = [];
  const forms: { url: string; fields: Record<string, string>; bytes: string }[] = [];
  const fetch: Fetch = async (url, init) => {
    const apiPath = new URL(url).pathname;
    const body = JSON.parse(init.body) as Record<string, unknown>;
    requests.push({ path: apiPath, body });
    const answers: Record<string, unknown> = {
      '/cgi-bin/stable_token': { access_token: 'TOKEN', expires_in: 7200 },
      '/tcb/uploadfile': {
        errcode: 0,
        errmsg: 'ok',
        url: 'https://cos.example/upload',
        token: 'cos-token',
        authorization: 'q-sign',
        file_id: `cloud://${ENV}.7072-${ENV}-1258350000/${String(body.path)}`,
        cos_file_id: 'cos-id',
      },
    };
    return { status: 200, json: async () => answers[apiPath] ?? { errcode: 0, errmsg: 'ok' } };
  };
  const uploadForm: UploadForm = async (url, fields, file) => {
    forms.push({ url, fields, bytes: file.bytes.toString() });
    return { status: 204, text: async () => '' };
  };
  return { requests, forms, fetch, uploadForm };
}

const api = (f: ReturnType<typeof fakes>) => ({
  appid: 'wx1234567890abcdef',
  appSecret: 'SECRET',
  envId: ENV,
  fetch: f.fetch,
  uploadForm: f.uploadForm,
  log: () => undefined,
  timeoutMs: 5000,
});

describe('deploy --content', () => {
  test('uploads each file, then rewrites each record with the uploaded fileIDs; a rerun sends the same', async () => {
    const root = project();
    const f = fakes();
    const plan = planContent(root);
    await applyContent(api(f), plan);
    const first = JSON.stringify([f.requests, f.forms]);
    expect(f.forms).toEqual([
      {
        url: 'https://cos.example/upload',
        fields: {
          key: 'paid/a/doc.pdf',
          Signature: 'q-sign',
          'x-cos-security-token': 'cos-token',
          'x-cos-meta-fileid': 'cos-id',
        },
        bytes: '%PDF-1.4 x',
      },
    ]);
    expect(f.requests.map((r) => r.path)).toEqual([
      '/cgi-bin/stable_token',
      '/tcb/uploadfile',
      '/tcb/databasedelete',
      '/tcb/databaseadd',
    ]);
    expect(f.requests[1].body).toEqual({ env: ENV, path: 'paid/a/doc.pdf' });
    expect(f.requests[2].body).toEqual({
      env: ENV,
      query: 'db.collection("PAIDCONTENT").where({_id: "a"}).remove()',
    });
    expect(f.requests[3].body).toEqual({
      env: ENV,
      query: `db.collection("PAIDCONTENT").add({data: {"_id":"a","itemId":"a","files":[{"name":"doc.pdf","fileID":"cloud://${ENV}.7072-${ENV}-1258350000/paid/a/doc.pdf"}]}})`,
    });
    // Idempotent: the second run sends exactly the same requests (same paths, same records).
    f.requests.length = 0;
    f.forms.length = 0;
    await applyContent(api(f), planContent(root));
    expect(JSON.stringify([f.requests, f.forms])).toBe(first);
    fs.rmSync(root, { recursive: true, force: true });
  });

  test('a record naming a file that is not under content/storage stops the plan, before any network', () => {
    const root = project();
    fs.writeFileSync(
      path.join(root, 'content', 'database', 'PAIDCONTENT.json'),
      JSON.stringify([{ _id: 'a', cover: { $fileID: 'paid/a/missing.png' } }]),
    );
    expect(() => planContent(root)).toThrow(PlanError);
    expect(() => planContent(root)).toThrow(/refers to "paid\/a\/missing\.png"/);
    fs.rmSync(root, { recursive: true, force: true });
  });

  test('a failed COS upload names the file and writes no record', async () => {
    const root = project();
    const f = fakes();
    const failing = {
      ...api(f),
      uploadForm: (async () => ({
        status: 403,
        text: async () =>
          '<Error><Code>AccessDenied</Code><Message>Access Denied.</Message></Error>',
      })) as UploadForm,
    };
    await expect(applyContent(failing, planContent(root))).rejects.toThrow(
      /COS upload failed: HTTP 403 Access Denied\. \(paid\/a\/doc\.pdf\)/,
    );
    expect(f.requests.map((r) => r.path)).not.toContain('/tcb/databaseadd');
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("the repository's own content/: every file reference resolves; the dry run lists it", () => {
    const plan = planContent(repoRoot);
    expect(plan.files.map((f) => f.cloudPath)).toEqual([
      'paid/demo-guide/checklist.pdf',
      'paid/demo-guide/cover.png',
      'paid/demo-unlock/cover.png',
      'paid/demo-unlock/states.png',
    ]);
    expect(plan.records.map((r) => `${r.collection}/${r.id}`)).toEqual([
      'PAIDCONTENT/demo-unlock',
      'PAIDCONTENT/demo-guide',
    ]);
    // The size the record shows is the file's real size.
    const guide = plan.records[1].doc as { files: { size: number }[] };
    expect(guide.files[0].size).toBe(plan.files[0].size);
    const lines = formatContentPlan(plan, ENV);
    expect(lines[0]).toContain(ENV);
    expect(lines).toContain('  upload paid/demo-guide/checklist.pdf (916 bytes)');
    expect(lines.join('\n')).toContain('<fileID of paid/demo-unlock/states.png>');
    expect(parseArgs(['--content']).content).toBe(true);
  });
});
