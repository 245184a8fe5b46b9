//! Records held column by column in their cleaned form.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::bloom::Bits;
use crate::normalise::{self, Date};

/// What a column holds, which decides how it is cleaned, compared and blocked on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    GivenName,
    FamilyName,
    DateOfBirth,
    Sex,
    Postcode,
    Address,
    /// Town, suburb, locality: few values, compared as text.
    Place,
    HouseNumber,
    Phone,
    Email,
    /// A reference number (UPN, NI number, ...): exact or one typo.
    Identifier,
    /// An NHS number: issued to one person, its check digit catching typos, so only exact
    /// agreement counts, and disagreement counts strongly against.
    NhsNumber,
    /// A Bloom-filter encoding made by `bloom::Encoder`, base64 in files.
    Encoded,
}

/// A named column and its kind; both sides of a linkage share one list of fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    pub name: String,
    pub kind: FieldKind,
}

impl Field {
    /// Whether the values are shared by a household (address, postcode, home phone) rather
    /// than belonging to one person. Encoded groups are told by their names.
    pub fn is_household(&self) -> bool {
        use FieldKind::*;
        match self.kind {
            Postcode | Address | Place | HouseNumber | Phone => true,
            Encoded => ["address", "contact"]
                .iter()
                .any(|g| self.name.ends_with(g)),
            _ => false,
        }
    }
}

/// Cleaned values of one column.
#[derive(Clone, Debug)]
pub enum Column {
    Text(Vec<Option<Box<str>>>),
    Date(Vec<Option<Date>>),
    Bloom(Vec<Option<Bits>>),
}

/// A value that could not be read into its column's kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValueError {
    pub message: String,
}

/// One agency's records: identifiers plus one cleaned column per field.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub ids: Vec<String>,
    pub fields: Vec<Field>,
    columns: Vec<Column>,
}

impl Dataset {
    pub fn new(fields: Vec<Field>) -> Self {
        let columns = fields
            .iter()
            .map(|f| match f.kind {
                FieldKind::DateOfBirth => Column::Date(Vec::new()),
                FieldKind::Encoded => Column::Bloom(Vec::new()),
                _ => Column::Text(Vec::new()),
            })
            .collect();
        Dataset {
            ids: Vec::new(),
            fields,
            columns,
        }
    }

    /// Adds a record; `values` follow `fields`. On error nothing is added and the error names
    /// the position of the offending value.
    pub fn push(&mut self, id: &str, values: &[&str]) -> Result<(), (usize, ValueError)> {
        assert_eq!(values.len(), self.fields.len(), "one value per field");
        let parsed = self
            .fields
            .iter()
            .zip(values)
            .enumerate()
            .map(|(position, (field, raw))| parse(field.kind, raw).map_err(|e| (position, e)))
            .collect::<Result<Vec<_>, _>>()?;
        for (column, value) in self.columns.iter_mut().zip(parsed) {
            match (column, value) {
                (Column::Text(v), Value::Text(x)) => v.push(x),
                (Column::Date(v), Value::Date(x)) => v.push(x),
                (Column::Bloom(v), Value::Bloom(x)) => v.push(x),
                _ => unreachable!("columns are made from the same kinds as values"),
            }
        }
        self.ids.push(id.to_string());
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn column(&self, index: usize) -> &Column {
        &self.columns[index]
    }

    pub fn text(&self, column: usize, row: usize) -> Option<&str> {
        match &self.columns[column] {
            Column::Text(v) => v[row].as_deref(),
            _ => None,
        }
    }

    pub fn date(&self, column: usize, row: usize) -> Option<Date> {
        match &self.columns[column] {
            Column::Date(v) => v[row],
            _ => None,
        }
    }

    pub fn bits(&self, column: usize, row: usize) -> Option<&Bits> {
        match &self.columns[column] {
            Column::Bloom(v) => v[row].as_ref(),
            _ => None,
        }
    }

    /// The cleaned value as people read it, for explanations.
    pub fn display(&self, column: usize, row: usize) -> Option<String> {
        match &self.columns[column] {
            Column::Text(v) => v[row].as_deref().map(str::to_string),
            Column::Date(v) => v[row].map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)),
            Column::Bloom(v) => v[row].as_ref().map(|b| format!("({} bits set)", b.ones())),
        }
    }

    /// Index of the first row holding each id, or the two rows that share one.
    pub fn check_unique_ids(&self) -> Result<(), (usize, usize)> {
        let mut seen: HashMap<&str, usize> = HashMap::with_capacity(self.ids.len());
        for (row, id) in self.ids.iter().enumerate() {
            if let Some(first) = seen.insert(id, row) {
                return Err((first, row));
            }
        }
        Ok(())
    }
}

enum Value {
    Text(Option<Box<str>>),
    Date(Option<Date>),
    Bloom(Option<Bits>),
}

fn parse(kind: FieldKind, raw: &str) -> Result<Value, ValueError> {
    Ok(match kind {
        FieldKind::DateOfBirth => Value::Date(normalise::date(raw)),
        FieldKind::Encoded if raw.trim().is_empty() => Value::Bloom(None),
        FieldKind::Encoded => Value::Bloom(Some(
            Bits::from_base64(raw.trim()).map_err(|message| ValueError { message })?,
        )),
        _ => Value::Text(clean_text(kind, raw).map(String::into_boxed_str)),
    })
}

fn clean_text(kind: FieldKind, raw: &str) -> Option<String> {
    match kind {
        FieldKind::Postcode | FieldKind::Identifier => normalise::compact_upper(raw),
        FieldKind::NhsNumber => normalise::nhs_number(raw),
        FieldKind::Phone => normalise::phone(raw),
        FieldKind::Sex => normalise::sex(raw),
        FieldKind::Email => Some(raw.trim().to_lowercase()).filter(|e| e.contains('@')),
        _ => normalise::text(raw),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Records of given name, family name and date of birth, for tests.
    pub(crate) fn people(rows: &[[&str; 3]]) -> Dataset {
        let field = |name: &str, kind| Field {
            name: name.into(),
            kind,
        };
        let fields = vec![
            field("given", FieldKind::GivenName),
            field("family", FieldKind::FamilyName),
            field("dob", FieldKind::DateOfBirth),
        ];
        let mut ds = Dataset::new(fields);
        for (n, row) in rows.iter().enumerate() {
            ds.push(&n.to_string(), row).unwrap();
        }
        ds
    }
}
