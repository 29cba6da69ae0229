import { markup, raw } from './html';

describe('markup', () => {
  it('escapes what comes from the services, and keeps markup built with it', () => {
    const bio = '<script>alert("x")</script> & co';
    const row = markup`<td>${bio}</td>`;
    expect(markup`<tr>${row}</tr>`.value).toBe('<tr><td>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co</td></tr>');
    expect(markup`<a title="${"it's"}">`.value).toBe('<a title="it&#39;s">');
  });

  it('joins lists and leaves out null, undefined and false', () => {
    expect(markup`<ul>${['a', 'b'].map((x) => markup`<li>${x}</li>`)}</ul>`.value).toBe('<ul><li>a</li><li>b</li></ul>');
    expect(markup`${null}${undefined}${false}${0}${raw('<br>')}`.value).toBe('0<br>');
  });
});
