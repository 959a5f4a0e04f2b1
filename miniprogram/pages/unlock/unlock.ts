// The "pay to unlock" page. Built with Component (not Page) so miniprogram-simulate can render it
// in tests; WeChat treats a Component registered in app.json's pages as a page and calls the
// onLoad/onUnload found in `methods`. All logic lives in ../../services; this file only wires
// the controller (the pay flow) and the content loader (getcontent) to the view.

import { config } from '../../config';
import { createContentApi, type ContentApi, type PaidFile } from '../../services/content-api';
import { contentTexts, labels, formatFen, formatSize } from '../../services/messages';
import { type FlowState, messageText, messageTone, type PayStatus } from '../../services/pay-flow';
import { createUnlockApi } from '../../services/unlock-api';
import { globalScheduler, UnlockController } from '../../services/unlock-controller';

const buttonLabels: Record<PayStatus, string> = {
  loading: labels.loading,
  locked: labels.pay,
  paying: labels.paying,
  confirming: labels.confirming,
  unlocked: labels.unlocked,
  unsupported: labels.pay,
};

function view(state: FlowState) {
  return {
    status: state.status,
    message: messageText(state),
    tone: messageTone(state),
    buttonText: `${buttonLabels[state.status]} ${formatFen(config.displayPriceFen)}`,
    showPay:
      state.status === 'locked' || state.status === 'paying' || state.status === 'confirming',
    busy: state.status === 'paying' || state.status === 'confirming',
  };
}

/** Per page instance: the pay flow, the content door, and what getcontent last answered. */
interface PageState {
  controller: UnlockController;
  content: ContentApi;
  itemId: string;
  files: PaidFile[];
  /** Set once getcontent answered the unlocked content, so it is fetched once per unlock. */
  contentLoaded: boolean;
  loading: Promise<void> | null;
}
// Kept off the instance so its type stays the framework's.
const pages = new WeakMap<object, PageState>();

type PageThis = WechatMiniprogram.Component.TrivialInstance;

/** Asks getcontent and shows the teaser, or the paid content when the server says unlocked. */
function loadContent(page: PageThis, state: PageState): Promise<void> {
  state.loading ??= state.content
    .getContent(state.itemId)
    .then((answer) => {
      if (answer.kind === 'error') {
        page.setData({ contentError: `${contentTexts.loadFailed}（错误码 ${answer.errcode}）` });
        return;
      }
      const teaser = answer.teaser;
      page.setData({
        title: teaser.title || config.itemTitle,
        summary: teaser.summary,
        cover: teaser.cover,
        priceText: formatFen(teaser.totalFee),
        contentError: '',
      });
      if (answer.kind === 'unlocked') {
        state.contentLoaded = true;
        state.files = answer.files;
        page.setData({
          blocks: answer.body,
          files: answer.files.map((f) => ({ name: f.name, sizeText: formatSize(f.size) })),
        });
      }
    })
    .catch(() => {
      page.setData({ contentError: contentTexts.loadFailed });
    })
    .finally(() => {
      state.loading = null;
    });
  return state.loading;
}

Component({
  data: {
    title: config.itemTitle,
    summary: '',
    cover: '',
    blocks: [] as unknown[],
    files: [] as { name: string; sizeText: string }[],
    contentError: '',
    openingFile: -1,
    // The price shown is for display only: the server's catalog decides what is charged.
    priceText: formatFen(config.displayPriceFen),
    ...view({ status: 'loading', message: null }),
  },
  methods: {
    onLoad(query?: Record<string, string | undefined>) {
      const itemId = query?.itemId || config.itemId;
      const content = createContentApi(wx);
      const controller = new UnlockController({
        api: createUnlockApi(wx),
        itemId,
        config,
        scheduler: globalScheduler,
        onChange: (flow) => {
          this.setData(view(flow));
          // The unlock is seen (watch, payquery or on load): fetch the real content once.
          const state = pages.get(this);
          if (flow.status === 'unlocked' && state && !state.contentLoaded) {
            void (state.loading ?? Promise.resolve()).then(() => {
              if (!state.contentLoaded) void loadContent(this, state);
            });
          }
        },
      });
      const state: PageState = {
        controller,
        content,
        itemId,
        files: [],
        contentLoaded: false,
        loading: null,
      };
      pages.set(this, state);
      void loadContent(this, state);
      void controller.load();
    },
    onUnload() {
      // The recipe never closed its watch: close it, and stop every timer, when the page goes.
      pages.get(this)?.controller.dispose();
      pages.delete(this);
    },
    onTapPay() {
      void pages.get(this)?.controller.pay();
    },
    onTapCatalog() {
      void wx.navigateTo({ url: '/pages/catalog/catalog' });
    },
    onTapFile(event: { currentTarget: { dataset: { index?: number | string } } }) {
      const state = pages.get(this);
      const index = Number(event.currentTarget.dataset.index);
      const file = state?.files[index];
      if (!state || !file) return;
      this.setData({ openingFile: index, contentError: '' });
      state.content
        .openFile(file)
        .catch(() => {
          // Most often the 10-minute link expired while the page stayed open: fetch fresh ones.
          state.contentLoaded = false;
          this.setData({ contentError: contentTexts.openFailed });
          return loadContent(this, state);
        })
        .finally(() => this.setData({ openingFile: -1 }));
    },
  },
  lifetimes: {
    // Also on detach, so a host that removes the component without onUnload (tests, previews)
    // leaks nothing either. dispose() is idempotent.
    detached() {
      pages.get(this)?.controller.dispose();
      pages.delete(this);
    },
  },
});
