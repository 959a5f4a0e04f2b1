/**
 * The simulated WeChat users of the preview's user picker. Shared by the server (which puts them in
 * the page) and the browser code. The first is the emulator's default user (`LOCAL_OPENID`), the
 * one a function invoked without an openid runs as.
 */
export interface PreviewUser {
  openid: string;
  name: string;
}

export const PREVIEW_USERS: readonly PreviewUser[] = [
  { openid: 'o_local_user_0001', name: '小明' },
  { openid: 'o_local_user_0002', name: '小红' },
  { openid: 'o_local_user_0003', name: '小刚' },
];
