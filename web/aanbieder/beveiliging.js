// aanbieder/beveiliging.js: the staff member's passkeys (common/toegangssleutels.js), with the
// board's menu.
import { AANBIEDER_MENU, initPage } from '/common/layout.js';
import { showPasskeys } from '/common/toegangssleutels.js';

await initPage({ requireLogin: true, menu: AANBIEDER_MENU, home: '/aanbieder/' });
await showPasskeys(document.getElementById('sleutels'));
