import { convertWxss, prepareWxml } from './wxss';

describe('convertWxss', () => {
  test('rpx becomes px at 375 px width, type selectors of built-ins become wx-*, classes stay', () => {
    const css = convertWxss(
      '/* c */ page { font-size: 30rpx; }\n.page view, .card > text.title { margin: 32rpx -10rpx 0.5rpx; }',
    );
    expect(css).toBe(
      ' wx-page { font-size: 15px; }\n.page wx-view, .card > wx-text.title { margin: 16px -5px 0.25px; }',
    );
  });

  test('leaves at-rule preludes, declarations and longer names alone', () => {
    const css = convertWxss(
      '@media (min-width: 300px) { view { color: red; } }\n.viewer, #text, [data-view] { content: "view"; }',
    );
    expect(css).toContain('@media (min-width: 300px) { wx-view { color: red; } }');
    expect(css).toContain('.viewer, #text, [data-view] { content: "view"; }');
  });
});

describe('prepareWxml', () => {
  test('renames HTML-colliding tags and converts static rpx in style attributes', () => {
    expect(prepareWxml('<button class="b" style="width: 100rpx">x</button><view/>')).toBe(
      '<wx-button class="b" style="width: 50px">x</wx-button><view/>',
    );
  });
});
