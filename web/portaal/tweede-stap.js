// portaal/tweede-stap.js: the sign-in's second step for every audience. A person who has no
// step left to do goes straight on; one who must first set a factor up goes to the set-up.
import { codeForm, homeFor, SETUP_PAGE } from '/common/tweestaps.js';
import { initPage, returnPath } from '/common/layout.js';

const user = await initPage({ requireLogin: true, menu: [] });
const back = returnPath(homeFor(user));
if (user.second_factor === 'none') location.replace(back);
else if (user.second_factor === 'enrol') location.replace(SETUP_PAGE + '?terug=' + encodeURIComponent(back));
else {
  const section = document.getElementById('tweede-stap');
  section.append(codeForm({ onProven: () => location.assign(back) }));
  section.querySelector('input[name="code"]').focus();
}
