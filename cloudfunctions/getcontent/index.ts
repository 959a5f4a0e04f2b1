// The paid content of {itemId} for a caller who holds its unlock, with 10-minute file URLs; the
// teaser and {locked: true} for anyone else.
import { getContent } from '../../server/content';
import { contentMain } from '../../server/runtime';

export const main = contentMain(getContent);
