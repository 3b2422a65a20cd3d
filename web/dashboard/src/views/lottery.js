import { html } from '../html.js';

function LotteryView({ state }) {
  const l = state.lottery;
  if (!l) return html`<section aria-labelledby="lottery-h"><h2 id="lottery-h">Lottery</h2><p class="muted">Waiting for the lottery's status…</p></section>`;
  const s = l.status;
  const finished = s.agencies.filter((a) => a.finished).length;
  return html`<section aria-labelledby="lottery-h">
    <h2 id="lottery-h">Lottery</h2>
    <dl class="summary">
      <div><dt>Round</dt><dd>${s.round}</dd></div>
      <div><dt>Bets</dt><dd data-testid="total-bets">${s.total_bets}</dd></div>
      <div><dt>Agencies finished</dt><dd>${finished} of ${s.expected_agencies}</dd></div>
      <div><dt>Draw</dt><dd data-testid="draw">${s.draw_done ? `done: number ${s.winning_number}` : 'not yet'}</dd></div>
    </dl>
    <label for="lottery-progress">Agencies finished</label>
    <progress id="lottery-progress" max=${s.expected_agencies} value=${finished}>${finished} of ${s.expected_agencies}</progress>
    <div class="scroll" tabindex="0" role="region" aria-label="Agencies table, scrolls sideways"><table class="agencies">
      <caption>Agencies: bets stored, whether they sent all, and their winners after the draw</caption>
      <thead><tr><th scope="col">Agency</th><th scope="col" class="num">Bets</th><th scope="col" class="num">Batches</th>
        <th scope="col">Finished</th><th scope="col" class="num">Winners</th><th scope="col">Winning documents</th></tr></thead>
      <tbody>${s.agencies.map((a) => {
        const w = l.winners[String(a.agency)];
        return html`<tr key=${a.agency} data-agency=${a.agency}><th scope="row">${a.agency}</th><td class="num">${a.bets}</td><td class="num">${a.batches}</td>
          <td>${a.finished ? 'yes' : 'no'}</td><td class="num">${s.draw_done ? a.winners : '–'}</td>
          <td class="docs">${w && w.documents ? w.documents.join(', ') || 'none' : '–'}</td></tr>`;
      })}</tbody>
    </table></div>
  </section>`;
}

export default { id: 'lottery', title: 'Lottery', View: LotteryView };
