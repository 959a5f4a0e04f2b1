// The "pay to unlock" page. Built with Component (not Page) so miniprogram-simulate can render it
// in tests; WeChat treats a Component registered in app.json's pages as a page and calls the
// onLoad/onUnload found in `methods`. All logic lives in ../../services; this file only wires
// the controller to the view.

import { config } from '../../config';
import { labels, formatFen } from '../../services/messages';
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

// One controller per page instance, kept off the instance so its type stays the framework's.
const controllers = new WeakMap<object, UnlockController>();

Component({
  data: {
    title: config.itemTitle,
    // The price shown is for display only: the server's catalog decides what is charged.
    priceText: formatFen(config.displayPriceFen),
    ...view({ status: 'loading', message: null }),
  },
  methods: {
    onLoad(query?: Record<string, string | undefined>) {
      const itemId = query?.itemId || config.itemId;
      const controller = new UnlockController({
        api: createUnlockApi(wx),
        itemId,
        config,
        scheduler: globalScheduler,
        onChange: (state) => this.setData(view(state)),
      });
      controllers.set(this, controller);
      void controller.load();
    },
    onUnload() {
      // The recipe never closed its watch: close it, and stop every timer, when the page goes.
      controllers.get(this)?.dispose();
      controllers.delete(this);
    },
    onTapPay() {
      void controllers.get(this)?.pay();
    },
  },
  lifetimes: {
    // Also on detach, so a host that removes the component without onUnload (tests, previews)
    // leaks nothing either. dispose() is idempotent.
    detached() {
      controllers.get(this)?.dispose();
      controllers.delete(this);
    },
  },
});
