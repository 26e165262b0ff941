// portaal/start.js: the start page. Shows the right way in for a visitor or a logged-in
// caregiver, and a short note after logging out or registering.
import { initPage } from '/common/layout.js';

const NOTES = {
  uitgelogd: 'U bent uitgelogd.',
  welkom: 'Uw account is klaar en u bent ingelogd.'
};

const user = await initPage();
document.getElementById('acties-uit').hidden = Boolean(user);
document.getElementById('acties-in').hidden = !user;
const params = new URLSearchParams(location.search);
for (const [key, text] of Object.entries(NOTES)) {
  if (!params.has(key)) continue;
  const note = document.getElementById('melding');
  note.textContent = text;
  note.hidden = false;
}
