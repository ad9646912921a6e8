"""JavaScript the browser runs in pages: marking an element for an action and judging whether
the action is destructive, capturing a tab's state for a snapshot, and putting it back."""

from __future__ import annotations

# Mark the element (a text node's parent) for a locator and judge whether acting on it commits
# irreversible state. Sites mark such controls with data-destructive (on the control or its
# form; "false" opts out); on a page with no marks, a POST form whose button or action reads like
# an irreversible verb counts.
JUDGE_JS = r"""
const FLAG = (e) => { const m = e && e.closest && e.closest('[data-destructive]');
  return m ? m.getAttribute('data-destructive') !== 'false' : null; };
const KW = /\b(place order|buy|purchase|pay|checkout|confirm|delete|remove|post|publish|reply|comment|submit|send|save|cancel|vote|upvote|downvote)\b/i;
const formOf = (e) => (e && (e.form || (e.closest && e.closest('form')))) || null;
const judgeForm = (form, submitter) => {
  if (!form) return false;
  const f = FLAG(submitter) ?? FLAG(form); if (f !== null) return f;
  if ((form.getAttribute('method') || 'get').toLowerCase() !== 'post') return false;
  if (document.querySelector('[data-destructive]')) return false;
  const label = submitter ? (submitter.innerText || submitter.value || '') : '';
  return KW.test(label) || KW.test(form.getAttribute('action') || '');
};
const SUBMIT = 'button:not([type=button]):not([type=reset]), input[type=submit], input[type=image]';
const judge = (el) => {
  let click = FLAG(el);
  if (click === null) {
    const b = el.closest(SUBMIT);
    click = b ? judgeForm(formOf(b), b) : false;
  }
  const link = el.closest('a[href], area[href]');
  const field = el.closest('input, textarea, select') || el;
  const form = formOf(field);
  const enter = form ? judgeForm(form, form.querySelector(SUBMIT)) : false;
  const sub = el.closest(SUBMIT);
  const tgt = (link && link.target) || (sub && formOf(sub) && formOf(sub).target) || '';
  const popup = !!tgt && !['_self', '_parent', '_top'].includes(tgt.toLowerCase());
  return {click, enter, tag: el.tagName.toLowerCase(), href: link ? link.href : null, popup,
          type: (el.getAttribute('type') || '').toLowerCase()};
};
"""
TAG_FN = "function(nonce) {" + JUDGE_JS + """
  const el = this.nodeType === 1 ? this : this.parentElement;
  if (!el) return null;
  el.setAttribute('data-ponder-act', nonce);
  return judge(el);
}"""
ACTIVE_FN = "() => {" + JUDGE_JS + """
  const el = document.activeElement;
  return el && el !== document.body ? judge(el) : {click: false, enter: false, tag: ''};
}"""

SCRIPTED_SELECTOR = ("script, [onload], [onclick], [onchange], [oninput], [onsubmit], [onkeydown], [onkeyup], "
                      "[onmousedown], [onmouseover], [onfocus], [onblur]")
CAPTURE_FN = """() => {
  const els = Array.from(document.querySelectorAll('input, textarea, select'));
  const fields = els.map(e => {
    if (e.tagName === 'SELECT') return {s: Array.from(e.options).map(o => o.selected)};
    if (e.type === 'checkbox' || e.type === 'radio') return {c: e.checked};
    if (e.type === 'hidden' || e.type === 'file') return null;
    return {v: e.value};
  });
  document.querySelectorAll('[data-ponder-act]').forEach(e => e.removeAttribute('data-ponder-act'));
  const dt = document.doctype;
  const doctype = dt ? '<!DOCTYPE ' + dt.name + (dt.publicId ? ' PUBLIC "' + dt.publicId + '"' : '') + (dt.systemId ? ' "' + dt.systemId + '"' : '') + '>' : '';
  const dump = (s) => { try { const o = {}; for (let i = 0; i < s.length; i++) { const k = s.key(i); o[k] = s.getItem(k); } return o; } catch (e) { return null; } };
  return {fields, active: els.indexOf(document.activeElement), sx: window.scrollX, sy: window.scrollY,
          ls: dump(window.localStorage), ss: dump(window.sessionStorage),
          html: (location.protocol.startsWith('http') ? doctype + document.documentElement.outerHTML : null),
          scripted: !!document.querySelector(SCRIPTED)};
}""".replace("SCRIPTED", repr(SCRIPTED_SELECTOR))
APPLY_FN = """(st) => {
  const load = (s, o) => { if (!o) return; try { s.clear(); for (const k in o) s.setItem(k, o[k]); } catch (e) {} };
  load(window.localStorage, st.ls); load(window.sessionStorage, st.ss);
  const els = Array.from(document.querySelectorAll('input, textarea, select'));
  st.fields.forEach((f, i) => {
    const e = els[i]; if (!f || !e) return;
    if (f.s && e.tagName === 'SELECT') Array.from(e.options).forEach((o, j) => { o.selected = !!f.s[j]; });
    else if ('c' in f) e.checked = f.c;
    else if ('v' in f && e.value !== f.v) e.value = f.v;
  });
  if (document.activeElement && document.activeElement !== document.body) document.activeElement.blur();
  if (st.active >= 0 && els[st.active]) els[st.active].focus({preventScroll: true});
  window.scrollTo(st.sx, st.sy);
}"""
# Replace the document in place (no navigation) and apply the tab's state, in one round trip:
# only when neither the current nor the snapshot's document has scripts (a script's timers and
# listeners would outlive document.open). Returns false when it did nothing.
WRITE_FN = "(a) => {" + """
  const apply = """ + APPLY_FN + """;
  if (document.querySelector(a.scripted_selector)) return false;
  document.open(); document.write(a.html); document.close();
  if (location.href !== a.url) history.replaceState(null, '', a.url);
  apply(a.state);
  return true;
}"""
