// The participant's side of the study: (the public link's enrolment), consent, questions,
// (hint), display check, training, test, thanks with the completion code.
// Every image of a phase is downloaded and decoded before the phase starts. Before each
// phase the browser measures its frame period and checks that the faces fit the screen at
// their size; each photo then stays for the whole number of frames nearest the design's
// time (400 ms, 1200 ms), switched inside requestAnimationFrame callbacks, and the time it
// was on screen is measured from the first frame that showed it to the first that no longer
// did. Answers are sent one by one as they are given (retried until the server confirms;
// the server stores a repeated answer once).
"use strict";
(() => {
  let token = location.pathname.split("/").filter(Boolean).pop();
  const app = document.getElementById("app");
  let frameMs = 1000 / 60;

  // small DOM helpers (textContent only: nothing from the server is parsed as HTML)
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "onclick") node.addEventListener("click", v);
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c);
    return node;
  }
  function screen(...children) { app.replaceChildren(...children); window.scrollTo(0, 0); }
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const frame = () => new Promise((r) => requestAnimationFrame(r));

  async function request(method, path, body, url) {
    // Retries network failures and server errors with back-off; a 4xx is final.
    let wait = 300;
    for (let attempt = 0; ; attempt++) {
      let res;
      try {
        res = await fetch(url || `/api/p/${token}/${path}`, {
          method, headers: body ? { "Content-Type": "application/json" } : {},
          body: body ? JSON.stringify(body) : undefined, cache: "no-store",
        });
      } catch (err) {
        res = null;
      }
      if (res && res.ok) return res.json();
      if (res && res.status < 500) {
        let detail = `${res.status}`;
        try { detail = (await res.json()).detail || detail; } catch (e) { /* keep status */ }
        throw new Error(detail);
      }
      if (attempt >= 8) throw new Error("the server cannot be reached; your answers so far are saved");
      await sleep(wait);
      wait = Math.min(wait * 2, 5000);
    }
  }

  function fail(err) {
    screen(el("h1", { text: "Something went wrong" }),
      el("p", { class: "error", text: String(err.message || err) }),
      el("p", { class: "muted", text: "Your answers so far are saved. Reload to continue where you stopped." }),
      el("div", { class: "actions" }, el("button", { text: "Reload", onclick: () => location.reload() })));
  }

  // The frame period from 60 animation frames: the mean of the intervals near their median, so a
  // few late frames do not count and the browser's coarse clock (0.1 ms steps) averages out.
  async function measureFrame() {
    const ts = [];
    for (let i = 0; i < 61; i++) ts.push(await frame());
    const d = ts.slice(1).map((t, i) => t - ts[i]).sort((a, b) => a - b);
    const median = d[Math.floor(d.length / 2)];
    const near = d.filter((x) => Math.abs(x - median) <= 0.25 * median);
    frameMs = Math.min(Math.max(near.reduce((a, b) => a + b, 0) / near.length, 4), 50);
    return frameMs;
  }
  const framesFor = (ms) => Math.max(1, Math.round(ms / frameMs));

  // Can this window show two faces side by side at their size, with every photo pixel on at
  // least one screen pixel? Returns the problems in words (none: it can).
  function displayProblems(design) {
    const problems = [];
    const probe = el("div", { class: "stage" }, el("div", { class: "slot" }), el("div", { class: "slot" }));
    const card = el("main", { class: "card", style: "position:absolute; visibility:hidden; left:0; top:0" }, probe);
    document.body.append(card);
    const slot = probe.firstChild.getBoundingClientRect();
    const stage = probe.getBoundingClientRect();
    card.remove();
    if (Math.round(slot.width) < design.face_px || stage.right > window.innerWidth + 0.5 ||
        stage.height + 220 > window.innerHeight) {
      problems.push(`This window (${window.innerWidth} × ${window.innerHeight}) is too small to show two photos ` +
        `of ${design.face_px} × ${design.face_px} pixels side by side with the answer buttons. Please make the ` +
        "window larger, turn your phone sideways or use a larger screen.");
    }
    if (design.face_px * window.devicePixelRatio < design.image_px - 0.5) {
      problems.push(`The page is zoomed out (${Math.round(100 * window.devicePixelRatio)}%): the photos would ` +
        "lose detail. Please set the browser's zoom to 100% (Ctrl+0 or Cmd+0).");
    }
    return problems;
  }

  // Wait until the display can show the photos, telling the participant what to change.
  async function displayCheck(design) {
    for (;;) {
      const problems = displayProblems(design);
      if (!problems.length) return;
      const again = el("button", { text: "Check again", id: "check-display" });
      screen(el("h1", { text: "Your screen cannot show the photos at their size" }),
        ...problems.map((text) => el("p", { class: "error", text })),
        el("p", { class: "muted", text: "The study continues as soon as the photos fit." }),
        el("div", { class: "actions" }, again));
      await new Promise((r) => {
        again.addEventListener("click", r, { once: true });
        window.addEventListener("resize", r, { once: true });
      });
    }
  }

  function display() {
    return { frame_ms: frameMs, device_pixel_ratio: window.devicePixelRatio,
      window_w: window.innerWidth, window_h: window.innerHeight };
  }

  async function preload(urls, bar) {
    const images = new Map();
    let done = 0;
    await Promise.all(urls.map(async (url) => {
      const img = new Image();
      img.alt = "";
      img.draggable = false;
      img.src = url;
      await img.decode();
      images.set(url, img);
      done += 1;
      if (bar) bar.style.width = `${(100 * done) / urls.length}%`;
    }));
    return images;
  }

  // Show steps[0], steps[1], … each for the whole number of frames nearest durationMs, then
  // call hide(); returns the measured on-screen time of each step. A change made in a frame
  // callback is on screen from the next frame, whose timestamp is therefore taken as the
  // change's display time. Frames are counted from the timestamps, so a skipped callback does
  // not stretch a photo: the next one goes up on the frame it was planned for.
  function present(steps, durationMs, hide) {
    const frames = framesFor(durationMs);
    return new Promise((resolve) => {
      const shown = [];
      let k = 0, onset = null, pending = false;
      const apply = () => { if (k < steps.length) steps[k](); else hide(); pending = true; };
      function tick(ts) {
        if (pending) {
          pending = false;
          if (onset !== null) shown.push(ts - onset);
          if (k >= steps.length) { resolve({ shown, end: ts, frames }); return; }
          onset = ts;
        }
        // frames that have shown step k, this one included; the next step goes up on the next frame
        if (Math.round((ts - onset) / frameMs) + 1 >= frames) { k += 1; apply(); }
        requestAnimationFrame(tick);
      }
      requestAnimationFrame(() => { apply(); requestAnimationFrame(tick); });
    });
  }

  // screens ---------------------------------------------------------------------------------
  async function consent(state) {
    const [a, b] = state.names;
    const go = el("button", { text: "I agree – start", id: "consent" });
    screen(el("h1", { text: "Telling two faces apart" }),
      el("p", { text: `In this short study (about 3 minutes) you answer two questions, see photos of ${a} and of ${b}, ` +
        "then pairs of photos, and say each time whether the two photos show the same person." }),
      el("p", { text: "Photos appear only briefly. Please use a quiet moment, keep this window in front, and " +
        "answer by your first impression." }),
      el("p", { class: "muted", text: "We store only your answers and their timing, without your name. " +
        "Taking part is voluntary and you may stop at any time by closing the page." }),
      el("div", { class: "actions" }, go));
    go.addEventListener("click", async () => {
      go.disabled = true;
      try { await request("POST", "consent"); await run(); } catch (err) { fail(err); }
    });
  }

  async function questionnaire(state) {
    const q = state.questionnaire;
    const answers = {};
    const go = el("button", { text: "Continue", id: "questions-done", disabled: "" });
    const person = (name, key) => el("fieldset", { class: "question" },
      el("legend", { text: `How well do you know ${name}?` }),
      ...q.familiarity.map((opt) => {
        const input = el("input", { type: "radio", name: key, value: opt.value, id: `${key}-${opt.value}` });
        input.addEventListener("change", () => {
          answers[key] = opt.value;
          if (answers.familiarity_a && answers.familiarity_b) go.removeAttribute("disabled");
        });
        return el("label", { for: `${key}-${opt.value}` }, input, ` ${opt.label}`);
      }));
    const age = el("select", { id: "age-band" }, el("option", { value: "", text: "prefer not to say" }),
      ...q.age_bands.map((b) => el("option", { value: b, text: b })));
    const country = el("input", { id: "country", type: "text", maxlength: "56", autocomplete: "country-name" });
    screen(el("h1", { text: "A few questions first" }),
      el("p", { text: "Please answer honestly: there are no right or wrong answers." }),
      person(state.names[0], "familiarity_a"), person(state.names[1], "familiarity_b"),
      el("fieldset", { class: "question" }, el("legend", { text: "Optional" }),
        el("label", { for: "age-band" }, "Age: ", age), el("label", { for: "country" }, "Country you live in: ", country)),
      el("div", { class: "actions" }, go));
    go.addEventListener("click", async () => {
      go.disabled = true;
      try {
        await request("POST", "questionnaire", { ...answers, age_band: age.value || null,
          country: country.value.trim() || null });
        await run();
      } catch (err) { fail(err); }
    });
  }

  async function hintScreen(state) {
    const go = el("button", { text: "I have read this – continue", id: "hint-seen" });
    const parts = [el("h1", { text: "Where to look" }),
      el("p", { text: "Before you start, a hint that comes from a neural network trained on these two people:" }),
      el("p", { class: "hint-text", text: state.hint.text })];
    if (state.hint.picture) parts.push(el("img", { class: "hint-picture", src: state.hint.picture, alt: "The face regions the hint refers to" }));
    screen(...parts, el("div", { class: "actions" }, go));
    go.addEventListener("click", async () => {
      go.disabled = true;
      try { await request("POST", "hint"); await run(); } catch (err) { fail(err); }
    });
  }

  async function training(state) {
    const per = state.design.train_per_person;
    const first = state.training.slice(0, per), second = state.training.slice(per);
    const bar = el("div");
    const go = el("button", { text: "Start", id: "start-training", disabled: "" });
    const hint = state.hint ? [el("p", { class: "hint-text", text: state.hint.text })] : [];
    screen(el("h1", { text: "Learn the two faces" }),
      el("p", { text: `You will see ${first.length} photos of ${first[0].name}, then ${second.length} photos ` +
        `of ${second[0].name}, each for a moment. Just watch and try to remember the two faces.` }),
      ...hint, el("div", { class: "bar" }, bar), el("div", { class: "actions" }, go));
    const images = await preload(state.training.map((t) => t.img), bar);
    go.removeAttribute("disabled");
    await new Promise((r) => go.addEventListener("click", r, { once: true }));
    await displayCheck(state.design);
    await measureFrame();

    const slot = el("div", { class: "slot" });
    const name = el("div", { class: "name" });
    screen(el("div", { class: "stage" }, slot), name);
    const shown = [];
    for (const block of [first, second]) {
      name.textContent = `Next: ${block[0].name}`;
      slot.replaceChildren();
      await sleep(1200);
      const steps = block.map((t) => () => { slot.replaceChildren(images.get(t.img)); name.textContent = t.name; });
      const result = await present(steps, state.design.train_ms, () => { slot.replaceChildren(); name.textContent = ""; });
      shown.push(...result.shown);
    }
    screen(el("p", { class: "muted", text: "Saving…" }));
    await request("POST", "training", { shown_ms: shown, ...display() });
    await run();
  }

  async function test(state) {
    const bar = el("div");
    const go = el("button", { text: state.next_trial > 0 ? "Continue" : "Start", id: "start-test", disabled: "" });
    screen(el("h1", { text: "Same person or not?" }),
      el("p", { text: `You will see ${state.design.pairs} pairs of photos, each pair for about a second. After each ` +
        "pair, answer whether both photos showed the same person." }),
      el("p", { class: "muted", text: "Keys: Y for same, N for different." }),
      el("div", { class: "bar" }, bar), el("div", { class: "actions" }, go));
    const urls = state.test.flatMap((t) => [t.a, t.b]);
    const images = await preload(urls, bar);
    go.removeAttribute("disabled");
    await new Promise((r) => go.addEventListener("click", r, { once: true }));
    await displayCheck(state.design);
    await measureFrame();

    const left = el("div", { class: "slot" }), right = el("div", { class: "slot" });
    const counter = el("p", { class: "muted" });
    const yes = el("button", { text: "Yes - Same", id: "same", disabled: "" });
    const no = el("button", { text: "No - Diff", id: "different", disabled: "" });
    const fix = el("div", { class: "fixation", text: "+" });
    const stage = el("div", { class: "stage" }, fix);
    screen(counter, stage, el("div", { class: "actions" }, yes, no));

    for (const t of state.test) {
      counter.textContent = `Pair ${t.trial + 1} of ${state.design.pairs}`;
      yes.disabled = no.disabled = true;
      stage.replaceChildren(fix);
      await sleep(600);
      const show = () => { left.replaceChildren(images.get(t.a)); right.replaceChildren(images.get(t.b)); stage.replaceChildren(left, right); };
      const hideAll = () => { left.replaceChildren(); right.replaceChildren(); yes.disabled = no.disabled = false; };
      const { shown, end } = await present([show], state.design.pair_ms, hideAll);
      const answer = await new Promise((resolve) => {
        const pick = (value) => { document.removeEventListener("keydown", key); resolve(value); };
        const key = (e) => {
          if (e.key === "y" || e.key === "Y") pick("same");
          else if (e.key === "n" || e.key === "N") pick("different");
        };
        yes.onclick = () => pick("same");
        no.onclick = () => pick("different");
        document.addEventListener("keydown", key);
      });
      const responseMs = performance.now() - end;
      yes.disabled = no.disabled = true;
      await request("POST", "answer", { trial: t.trial, answer, response_ms: responseMs, shown_ms: shown[0],
        frame_ms: frameMs });
    }
    await run();
  }

  function done(state) {
    const c = state.completion || {};
    const parts = [el("h1", { text: "Thank you!" }), el("p", { text: "Your answers are saved." })];
    if (c.code) parts.push(el("p", { text: "Your completion code: " }, el("strong", { id: "completion-code", text: c.code })));
    if (c.redirect) {
      parts.push(el("p", { class: "muted", text: "Taking you back to where you came from…" }),
        el("div", { class: "actions" }, el("a", { href: c.redirect, id: "completion-link", text: "Continue" })));
      screen(...parts);
      setTimeout(() => location.assign(c.redirect), 1500);
      return;
    }
    parts.push(el("p", { text: c.code ? "Please enter the code where you signed up; you can close this page then."
      : "You can close this page now." }));
    screen(...parts);
  }

  // The public link (/join?PROLIFIC_PID=…): enrol once, then continue at the personal link.
  async function join() {
    const params = Object.fromEntries(new URLSearchParams(location.search));
    const res = await request("POST", "", params, "/api/join");
    location.replace(res.path);
  }

  async function run() {
    if (location.pathname === "/join") return join();
    const state = await request("GET", "state");
    document.documentElement.style.setProperty("--face", `${state.design.face_px}px`);
    if (state.phase === "consent") return consent(state);
    if (state.phase === "questionnaire") return questionnaire(state);
    if (state.phase === "hint") return hintScreen(state);
    if (state.phase === "training") return training(state);
    if (state.phase === "test") return test(state);
    return done(state);
  }

  run().catch(fail);
})();
