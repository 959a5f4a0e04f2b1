// Every catalog item with its price and whether the caller has unlocked it (list, my purchases).
import { getCatalog } from '../../server/content';
import { contentMain } from '../../server/runtime';

export const main = contentMain(getCatalog);
