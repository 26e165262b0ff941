// portaal/tweede-stap.js: the second step after the password. GET /v1/me says what is left:
// "verify" (prove a passkey), "enrol" (a role that needs a second step sets up a passkey
// first; adding one proves it) or "none" (go on). Then back to ?terug=.
import { currentUser, ApiError } from '/common/api.js';
import { initPage, returnPath } from '/common/layout.js';
import { passkeysSupported, provePasskey, showPasskeys } from '/common/toegangssleutels.js';

const user = await initPage({ requireLogin: true });
const box = document.getElementById('stap-melding');
const next = returnPath('/');

function say(text) {
  box.className = 'alert alert--error';
  box.textContent = text;
  box.hidden = false;
  box.focus();
}

if (user.second_factor === 'none') location.replace(next);
if (!passkeysSupported()) {
  say('Deze browser kan geen toegangssleutels gebruiken. Gebruik een andere browser.');
} else if (user.second_factor === 'verify') {
  document.getElementById('bevestigen').hidden = false;
  const button = document.getElementById('met-sleutel');
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await provePasskey();
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      say(e.message);
      return;
    } finally {
      button.disabled = false;
    }
    location.assign(next);
  });
} else if (user.second_factor === 'enrol') {
  const section = document.getElementById('sleutels');
  section.hidden = false;
  // Adding the first passkey proves it for this session: then there is nothing left to do.
  await showPasskeys(section, {
    onAdded: async () => {
      const me = await currentUser();
      if (me && me.second_factor === 'none') location.assign(next);
    }
  });
}
