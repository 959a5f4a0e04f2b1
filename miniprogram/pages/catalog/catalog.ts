// The catalog: every item with its price and whether this user has unlocked it, and "my
// purchases" (the unlocked ones) as a second tab. Tapping an item opens the unlock page for it.
// What is unlocked comes from getcatalog (the server reads USERUNLOCK for the caller).

import { createContentApi, type CatalogItem } from '../../services/content-api';
import { catalogTexts, formatFen } from '../../services/messages';

type Tab = 'all' | 'mine';

interface Row {
  itemId: string;
  title: string;
  summary: string;
  priceText: string;
  unlocked: boolean;
  stateText: string;
}

function rows(items: CatalogItem[], tab: Tab): Row[] {
  return items
    .filter((item) => tab === 'all' || item.unlocked)
    .map((item) => ({
      itemId: item.itemId,
      title: item.title,
      summary: item.summary,
      priceText: formatFen(item.totalFee),
      unlocked: item.unlocked,
      stateText: item.unlocked ? catalogTexts.unlocked : catalogTexts.locked,
    }));
}

const loaded = new WeakMap<object, CatalogItem[]>();

Component({
  data: {
    tab: 'all' as Tab,
    status: 'loading' as 'loading' | 'ready' | 'error',
    rows: [] as Row[],
    emptyText: '',
    error: '',
  },
  methods: {
    onLoad(query?: Record<string, string | undefined>) {
      const tab: Tab = query?.tab === 'mine' ? 'mine' : 'all';
      this.setData({ tab });
      void this.refresh();
    },
    onShow() {
      // Back from a purchase: the states may have changed.
      if (loaded.has(this)) void this.refresh();
    },
    async refresh() {
      try {
        const answer = await createContentApi(wx).getCatalog();
        if (!Array.isArray(answer)) {
          this.setData({
            status: 'error',
            error: `${catalogTexts.failed}（错误码 ${answer.errcode}）`,
          });
          return;
        }
        loaded.set(this, answer);
        this.show(this.data.tab as Tab);
      } catch {
        this.setData({ status: 'error', error: catalogTexts.failed });
      }
    },
    show(tab: Tab) {
      const items = loaded.get(this) ?? [];
      const list = rows(items, tab);
      this.setData({
        tab,
        status: 'ready',
        rows: list,
        emptyText: list.length
          ? ''
          : tab === 'mine'
            ? catalogTexts.noPurchases
            : catalogTexts.empty,
        error: '',
      });
    },
    onTapTab(event: { currentTarget: { dataset: { tab?: string } } }) {
      this.show(event.currentTarget.dataset.tab === 'mine' ? 'mine' : 'all');
    },
    onTapItem(event: { currentTarget: { dataset: { id?: string } } }) {
      const itemId = event.currentTarget.dataset.id;
      if (!itemId) return;
      void wx.navigateTo({ url: `/pages/unlock/unlock?itemId=${encodeURIComponent(itemId)}` });
    },
  },
});
