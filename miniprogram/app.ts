import { config } from './config';

App({
  onLaunch() {
    // wx.cloud.init must run before any cloud call; the env id is the FULL id (see config.ts).
    wx.cloud.init({ env: config.envId, traceUser: true });
  },
});
