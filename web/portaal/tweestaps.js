// portaal/tweestaps.js: set up two-step sign-in, or see and change it (common/tweestaps.js).
// A person who still owes the factor sees no menu: setting it up is the one thing to do.
import { initPage, menuFor, returnPath } from '/common/layout.js';
import { homeFor, SECOND_STEP_PAGE, showFactors, showSetup } from '/common/tweestaps.js';
import { passkeysSupported, showPasskeys } from '/common/toegangssleutels.js';

const user = await initPage({
  requireLogin: true,
  menu: (u) => (u && u.second_factor !== 'none' ? [] : menuFor(u))
});
const back = returnPath(homeFor(user));
const setup = document.getElementById('instellen');
const list = document.getElementById('factoren');

function startSetup() {
  list.hidden = true;
  setup.hidden = false;
  showSetup(setup, {
    doneText: user.second_factor === 'enrol' ? 'Verder' : 'Klaar',
    onDone: () => (user.second_factor === 'enrol' ? location.assign(back) : location.reload())
  });
}

if (user.second_factor === 'verify') {
  location.replace(SECOND_STEP_PAGE + '?terug=' + encodeURIComponent(location.pathname + location.search));
} else if (user.second_factor === 'enrol') {
  document.getElementById('verplicht').hidden = false;
  startSetup();
  // A first passkey is the other way to set up the second step; adding it proves it for this
  // session, so the person goes straight on.
  if (passkeysSupported()) {
    const keys = document.getElementById('sleutels');
    keys.hidden = false;
    await showPasskeys(keys, { onAdded: () => location.assign(back) });
  }
} else {
  const factors = await showFactors(list, { onEmpty: startSetup });
  if (factors.length) list.hidden = false;
}
document.body.dataset.tweestaps = 'true';
