//! A printable A4 PDF of headings and paragraphs, written with `pdf-writer` in PDF's built-in
//! Helvetica (no font to embed): enough for a report people print and file.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};

/// One block of a document, laid out top to bottom.
pub enum Block {
    Title(String),
    Heading(String),
    Paragraph(String),
    /// A label and its value on one line, the label in bold.
    Pair(String, String),
}

const PAGE: (f32, f32) = (595.0, 842.0);
const MARGIN: f32 = 56.0;

/// Characters a line of `size`-point Helvetica holds across the text width: Helvetica's
/// glyphs average about half an em, so allow a little more to keep within the margin.
fn line_chars(size: f32) -> usize {
    ((PAGE.0 - 2.0 * MARGIN) / (size * 0.53)) as usize
}

/// Words wrapped to lines of at most `width` characters (a longer word gets a line of its own).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
    }
    lines
}

/// The text in PDF's WinAnsiEncoding, which the built-in fonts use; what it lacks becomes "?".
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '€' => 0x80,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            _ => b'?',
        })
        .collect()
}

/// A laid-out line: font, size, text, and the space before it.
type Line = (&'static [u8], f32, String, f32);

/// Each line of the blocks, in order.
fn lines(blocks: &[Block]) -> Vec<Line> {
    let mut out = Vec::new();
    for block in blocks {
        let (font, size, before, text): (&'static [u8], f32, f32, String) = match block {
            Block::Title(t) => (b"F2", 18.0, 0.0, t.clone()),
            Block::Heading(t) => (b"F2", 13.0, 14.0, t.clone()),
            Block::Paragraph(t) => (b"F1", 10.5, 6.0, t.clone()),
            Block::Pair(label, value) => (b"F1", 10.5, 2.0, format!("{label}: {value}")),
        };
        for (i, line) in wrap(&text, line_chars(size)).into_iter().enumerate() {
            out.push((font, size, line, if i == 0 { before } else { 0.0 }));
        }
    }
    out
}

/// The document as PDF bytes, over as many pages as it needs, each page numbered.
pub fn render(title: &str, blocks: &[Block]) -> Vec<u8> {
    let mut pages: Vec<Vec<Line>> = vec![Vec::new()];
    let mut y = PAGE.1 - MARGIN;
    for line in lines(blocks) {
        let height = line.1 * 1.35 + line.3;
        if y - height < MARGIN + 20.0 {
            pages.push(Vec::new());
            y = PAGE.1 - MARGIN;
        }
        y -= height;
        pages.last_mut().expect("a page").push(line);
    }
    let mut pdf = Pdf::new();
    let (catalog, tree, regular, bold) = (Ref::new(1), Ref::new(2), Ref::new(3), Ref::new(4));
    let info = Ref::new(5);
    let page_ids: Vec<(Ref, Ref)> = (0..pages.len() as i32)
        .map(|i| (Ref::new(10 + 2 * i), Ref::new(11 + 2 * i)))
        .collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().map(|(page, _)| *page))
        .count(pages.len() as i32);
    pdf.document_info(info).title(pdf_writer::TextStr(title));
    for (font, name) in [(regular, "Helvetica"), (bold, "Helvetica-Bold")] {
        pdf.type1_font(font)
            .base_font(Name(name.as_bytes()))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    let count = pages.len();
    for (n, (lines, (page_id, content_id))) in pages.iter().zip(&page_ids).enumerate() {
        let mut page = pdf.page(*page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE.0, PAGE.1));
        page.parent(tree);
        page.contents(*content_id);
        page.resources()
            .fonts()
            .pair(Name(b"F1"), regular)
            .pair(Name(b"F2"), bold);
        page.finish();
        let mut content = Content::new();
        let mut y = PAGE.1 - MARGIN;
        for (font, size, text, before) in lines {
            y -= size * 1.35 + before;
            content
                .begin_text()
                .set_font(Name(font), *size)
                .next_line(MARGIN, y)
                .show(Str(&win_ansi(text)))
                .end_text();
        }
        let footer = format!("{title} - page {} of {count}", n + 1);
        content
            .begin_text()
            .set_font(Name(b"F1"), 8.0)
            .next_line(MARGIN, MARGIN - 20.0)
            .show(Str(&win_ansi(&footer)))
            .end_text();
        pdf.stream(*content_id, &content.finish());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_wraps_within_the_width_and_flows_onto_more_pages() {
        let words = "volunteers ".repeat(2_000);
        let lines = wrap(&words, 80);
        assert!(lines.iter().all(|l| l.chars().count() <= 80));
        let pdf = render(
            "A report",
            &[Block::Title("Social value".into()), Block::Paragraph(words)],
        );
        assert!(pdf.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&pdf);
        assert!(
            text.contains("/Count 6") || text.contains("/Count 7"),
            "{}",
            &text[..400]
        );
        assert!(text.contains("Helvetica-Bold"));
    }

    #[test]
    fn pounds_and_dashes_are_in_the_built_in_fonts_encoding() {
        assert_eq!(
            win_ansi("£5 – ok"),
            [0xA3, b'5', b' ', 0x96, b' ', b'o', b'k']
        );
        assert_eq!(win_ansi("日"), b"?");
    }
}
