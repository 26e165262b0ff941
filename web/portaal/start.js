// portaal/start.js: the start page. Shows the right way in for a visitor or a logged-in
// caregiver, a waiting-list offer on top when there is one, and a short note after logging
// out, registering or erasing the account.
import { initPage } from '/common/layout.js';
import { showOffers } from './aanbod.js';

const NOTES = {
  uitgelogd: 'U bent uitgelogd.',
  welkom: 'Uw account is klaar en u bent ingelogd. Wij hebben u een e-mail gestuurd: bevestig daarmee uw e-mailadres.',
  verwijderd: 'Uw account en uw gegevens zijn verwijderd.'
};

const user = await initPage();
document.getElementById('acties-uit').hidden = Boolean(user);
document.getElementById('acties-in').hidden = !user;
if (user) await showOffers(document.getElementById('aanbod'));
const params = new URLSearchParams(location.search);
for (const [key, text] of Object.entries(NOTES)) {
  if (!params.has(key)) continue;
  const note = document.getElementById('melding');
  note.textContent = text;
  note.hidden = false;
}
