const newId = () => Array.from(crypto.getRandomValues(new Uint8Array(16)),
                                b => b.toString(16).padStart(2, '0')).join('');
const IN_FLIGHT = 3, MIN_GAP_MS = 1000 / 30, MAX_S = {{LIVE_VIEW_SECONDS}};
const canvas = document.createElement('canvas');
// Each Start is a new session (its own id, clock, face numbers and timeline); frames carry
// their number and capture time, so the server takes them in the order they were captured
let session = null, stream = null, running = false, lastSend = 0, shown = [], lastUrl = null;
let lastFace = 0;  // when a frame last had a face: none for NO_FACE_MS, the hint shows
const NO_FACE_MS = 1000;
const $ = s => element.querySelector(s);
const status = text => { const el = $('.live-status'); if (el) el.textContent = text; };
element.addEventListener('click', e => {
  if (e.target.closest('.live-toggle')) running ? stop('Stopped.') : start();
});
async function start() {
  try {
    stream = await navigator.mediaDevices.getUserMedia(
      {video: {width: {ideal: 640}, height: {ideal: 480}}, audio: false});
  } catch (error) { status('No camera: ' + error.message); return; }
  const video = $('video');
  video.srcObject = stream; video.style.display = 'block';
  await video.play();
  session = {id: newId(), replaces: session && session.id, started: performance.now(), seq: 0};
  props.value = session.id;  // what the events below send: the timeline, the CSV, the journal
  running = true; lastFace = session.started; shown = [];
  $('.live-toggle').textContent = 'Stop';
  status('Starting…');
  for (let i = 0; i < IN_FLIGHT; i++) send(session);
}
function stop(text) {
  running = false;
  if (stream) stream.getTracks().forEach(t => t.stop());
  stream = null;
  const video = $('video'); if (video) { video.srcObject = null; video.style.display = 'none'; }
  $('.live-toggle').textContent = 'Start the camera';
  $('.live-hint').style.display = 'none';
  status(text);
}
async function send(mine) {
  if (!running || mine !== session) return;  // stopped, or a later Start's loop goes on
  const video = $('video'), wait = lastSend + MIN_GAP_MS - performance.now();
  if (video.readyState < 2 || wait > 0) { setTimeout(() => send(mine), Math.max(wait, 10)); return; }
  if (performance.now() - mine.started > MAX_S * 1000) { stop('Stopped after {{LIVE_VIEW_WORDS}}.'); return; }
  lastSend = performance.now();
  canvas.width = video.videoWidth; canvas.height = video.videoHeight;
  const context = canvas.getContext('2d');
  context.setTransform(-1, 0, 0, 1, canvas.width, 0);  // a mirror, as people see themselves
  context.drawImage(video, 0, 0);
  const query = new URLSearchParams({session: mine.id, seq: mine.seq++, mirrored: 1,
                                     t: (performance.now() - mine.started).toFixed(1)});
  if (mine.replaces) query.set('replaces', mine.replaces);
  const frame = await new Promise(done => canvas.toBlob(done, 'image/jpeg', 0.8));
  try {
    const answer = await fetch(`{{LIVE_ROUTE}}?${query}`, {method: 'POST', body: frame,
                                                   headers: {'Content-Type': 'image/jpeg'}});
    if (mine !== session) return;
    if (!answer.ok) { stop(await answer.text()); return; }
    if (answer.status === 204) { send(mine); return; }  // captured before one already shown
    const faces = answer.headers.get('{{FACES_HEADER}}');  // null: not said (no hint)
    show(await answer.blob(), faces === null ? null : Number(faces));
  } catch (error) {
    if (mine === session) stop('The server did not answer: ' + error.message);
    return;
  }
  send(mine);
}
function show(blob, faces) {
  if (!running) return;
  const img = $('img'), url = URL.createObjectURL(blob);
  img.onload = () => { if (lastUrl) URL.revokeObjectURL(lastUrl); lastUrl = url; };
  img.src = url; img.style.display = 'block';
  const now = performance.now();
  shown.push(now); shown = shown.filter(t => now - t < 2000);
  status(`live · ${(shown.length / 2).toFixed(0)} frames a second`);
  if (faces !== 0) lastFace = now;
  $('.live-hint').style.display = now - lastFace > NO_FACE_MS ? 'block' : 'none';
}
