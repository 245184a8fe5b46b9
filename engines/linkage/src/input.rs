//! Reading CSV text (from any reader the caller opens) into datasets, with errors that name the
//! file, row and column. Rows are counted as lines of the file: the header is row 1.

use std::collections::HashMap;
use std::io::Read;

use crate::autoconfig;
use crate::bloom::{ENCODED_PREFIX, KEY_CHECK_COLUMN};
use crate::data::{Dataset, Field, FieldKind};

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum InputError {
    #[error("{file}: the file is empty; it needs a header row and at least one record")]
    Empty { file: String },
    #[error("{file}: there is a header row but no records")]
    NoRecords { file: String },
    #[error("{file}: row {row} has {found} fields but the header has {expected}")]
    Ragged {
        file: String,
        row: u64,
        found: u64,
        expected: u64,
    },
    #[error(
        "{file}: row {row}, column '{column}': the text is not valid UTF-8 (save the file as UTF-8)"
    )]
    NotUtf8 {
        file: String,
        row: u64,
        column: String,
    },
    #[error("{file}: no column named '{id}' to take ids from; the columns are: {columns}")]
    NoIdColumn {
        file: String,
        id: String,
        columns: String,
    },
    #[error("{file}: row {row}, column '{column}': the id is empty")]
    EmptyId {
        file: String,
        row: u64,
        column: String,
    },
    #[error(
        "{file}: rows {first} and {second}, column '{column}': the id '{id}' appears more than once"
    )]
    DuplicateId {
        file: String,
        first: u64,
        second: u64,
        column: String,
        id: String,
    },
    #[error("{file}: row {row}, column '{column}': {message}")]
    BadValue {
        file: String,
        row: u64,
        column: String,
        message: String,
    },
    #[error("{file}: row {row}: {message}")]
    Unreadable {
        file: String,
        row: u64,
        message: String,
    },
    #[error(
        "{files}: no column in common (other than the id) holds names, dates, sexes, postcodes, addresses, phone numbers or other identifiers"
    )]
    NothingToCompare { files: String },
    #[error(
        "one file is encoded and the other is not; encode both with `link encode` and the same key"
    )]
    MixedEncoding,
    #[error("column '{column}' is given a kind in the configuration but {file} has no such column")]
    UnknownColumn { file: String, column: String },
}

/// A CSV file held as read: header and records.
pub struct Table {
    pub file: String,
    pub headers: Vec<String>,
    pub records: Vec<csv::StringRecord>,
    pub id_column: usize,
}

impl Table {
    /// Reads CSV text; `file` names it in errors.
    pub fn read(file: &str, reader: impl Read, id: &str) -> Result<Self, InputError> {
        let mut csv = csv::ReaderBuilder::new()
            .flexible(false)
            .from_reader(reader);
        let headers = csv.headers().map_err(|e| read_error(file, &[], e))?.clone();
        if headers.is_empty() || headers.iter().all(str::is_empty) {
            return Err(InputError::Empty {
                file: file.to_string(),
            });
        }
        let headers: Vec<String> = headers.iter().map(|h| h.trim().to_string()).collect();
        let id_column =
            headers
                .iter()
                .position(|h| h == id)
                .ok_or_else(|| InputError::NoIdColumn {
                    file: file.to_string(),
                    id: id.to_string(),
                    columns: headers.join(", "),
                })?;
        let mut records = Vec::new();
        for record in csv.records() {
            let record = record.map_err(|e| read_error(file, &headers, e))?;
            if record.get(id_column).is_none_or(|v| v.trim().is_empty()) {
                let row = record.position().map_or(0, csv::Position::line);
                return Err(InputError::EmptyId {
                    file: file.to_string(),
                    row,
                    column: id.to_string(),
                });
            }
            records.push(record);
        }
        if records.is_empty() {
            return Err(InputError::NoRecords {
                file: file.to_string(),
            });
        }
        Ok(Table {
            file: file.to_string(),
            headers,
            records,
            id_column,
        })
    }

    fn row(&self, index: usize) -> u64 {
        self.records[index]
            .position()
            .map_or(index as u64 + 2, csv::Position::line)
    }

    pub fn is_encoded(&self) -> bool {
        self.headers.iter().any(|h| h.starts_with(ENCODED_PREFIX))
    }

    /// The key check value `link encode` wrote in every row ([`KEY_CHECK_COLUMN`]); `None` for
    /// a file without the column (encoded before check values were written). A column whose
    /// rows disagree or are empty is an error naming the row: the file was put together from
    /// files encoded with different keys.
    pub fn key_check(&self) -> Result<Option<String>, InputError> {
        let Some(column) = self.headers.iter().position(|h| h == KEY_CHECK_COLUMN) else {
            return Ok(None);
        };
        let first = self.records[0].get(column).unwrap_or("").trim();
        for (index, record) in self.records.iter().enumerate() {
            let value = record.get(column).unwrap_or("").trim();
            if value.is_empty() || value != first {
                return Err(InputError::BadValue {
                    file: self.file.clone(),
                    row: self.row(index),
                    column: KEY_CHECK_COLUMN.to_string(),
                    message: "the key check differs from the first row's (or is empty): the rows were not all encoded with one key".into(),
                });
            }
        }
        Ok(Some(first.to_string()))
    }

    /// Builds a dataset of the chosen fields; `columns` gives each field's column in this table.
    pub fn to_dataset(&self, fields: &[Field]) -> Result<Dataset, InputError> {
        let columns: Vec<usize> = fields
            .iter()
            .map(|f| self.headers.iter().position(|h| *h == f.name))
            .collect::<Option<_>>()
            .expect("fields are chosen from common columns");
        let mut data = Dataset::new(fields.to_vec());
        let mut values = Vec::with_capacity(columns.len());
        for (index, record) in self.records.iter().enumerate() {
            values.clear();
            values.extend(columns.iter().map(|&c| record.get(c).unwrap_or("")));
            data.push(record[self.id_column].trim(), &values)
                .map_err(|(position, e)| InputError::BadValue {
                    file: self.file.clone(),
                    row: self.row(index),
                    column: fields[position].name.clone(),
                    message: e.message,
                })?;
        }
        data.check_unique_ids()
            .map_err(|(first, second)| InputError::DuplicateId {
                file: self.file.clone(),
                first: self.row(first),
                second: self.row(second),
                column: self.headers[self.id_column].clone(),
                id: data.ids[second].clone(),
            })?;
        Ok(data)
    }
}

fn read_error(file: &str, headers: &[String], error: csv::Error) -> InputError {
    let file = file.to_string();
    match error.kind() {
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => InputError::Ragged {
            file,
            row: pos.as_ref().map_or(0, csv::Position::line),
            found: *len,
            expected: *expected_len,
        },
        csv::ErrorKind::Utf8 { pos, err } => InputError::NotUtf8 {
            file,
            row: pos.as_ref().map_or(1, csv::Position::line),
            column: headers
                .get(err.field())
                .cloned()
                .unwrap_or_else(|| format!("number {}", err.field() + 1)),
        },
        _ => InputError::Unreadable {
            file,
            row: error.position().map_or(0, csv::Position::line),
            message: error.to_string(),
        },
    }
}

/// Chooses the fields to link on: the columns all tables share (the id aside), each given the
/// kind the configuration names, or else the kind its header or contents show. Columns of no
/// known kind are left out and returned by name. Encoded files use their encoded columns.
pub fn choose_fields(
    tables: &[&Table],
    configured: &HashMap<String, FieldKind>,
) -> Result<(Vec<Field>, Vec<String>), InputError> {
    let first = tables[0];
    let files = || {
        tables
            .iter()
            .map(|t| t.file.as_str())
            .collect::<Vec<_>>()
            .join(" and ")
    };
    let encoded = tables.iter().filter(|t| t.is_encoded()).count();
    if encoded != 0 && encoded != tables.len() {
        return Err(InputError::MixedEncoding);
    }
    for column in configured.keys() {
        if let Some(table) = tables.iter().find(|t| !t.headers.contains(column)) {
            return Err(InputError::UnknownColumn {
                file: table.file.clone(),
                column: column.clone(),
            });
        }
    }
    let shared = first.headers.iter().enumerate().filter(|(c, h)| {
        *c != first.id_column
            && !(encoded > 0 && *h == KEY_CHECK_COLUMN)
            && tables.iter().all(|t| {
                t.headers
                    .iter()
                    .enumerate()
                    .any(|(tc, th)| th == *h && tc != t.id_column)
            })
    });
    let (mut fields, mut ignored) = (Vec::new(), Vec::new());
    for (column, header) in shared {
        let kind = if encoded > 0 {
            header
                .starts_with(ENCODED_PREFIX)
                .then_some(FieldKind::Encoded)
        } else {
            configured
                .get(header)
                .copied()
                .or_else(|| autoconfig::kind_from_header(header))
                .or_else(|| {
                    let sample: Vec<&str> = first
                        .records
                        .iter()
                        .take(500)
                        .map(|r| r.get(column).unwrap_or(""))
                        .collect();
                    autoconfig::kind_from_values(&sample)
                })
        };
        match kind {
            Some(kind) => fields.push(Field {
                name: header.clone(),
                kind,
            }),
            None => ignored.push(header.clone()),
        }
    }
    if fields.is_empty() {
        return Err(InputError::NothingToCompare { files: files() });
    }
    Ok((fields, ignored))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &[u8]) -> Result<Table, InputError> {
        Table::read("people.csv", text, "id")
    }

    fn message(text: &[u8]) -> String {
        read(text)
            .and_then(|t| t.to_dataset(&choose_fields(&[&t], &HashMap::new())?.0))
            .err()
            .unwrap()
            .to_string()
    }

    #[test]
    fn each_bad_input_names_file_row_and_column() {
        assert_eq!(
            message(b""),
            "people.csv: the file is empty; it needs a header row and at least one record"
        );
        assert_eq!(
            message(b"id,first_name\n"),
            "people.csv: there is a header row but no records"
        );
        assert_eq!(
            message(b"id,first_name\n1,Ann\n2,Bob,extra\n"),
            "people.csv: row 3 has 3 fields but the header has 2"
        );
        assert_eq!(
            message(b"id,first_name\n1,Ann\n2,Bj\xf6rn\n"),
            "people.csv: row 3, column 'first_name': the text is not valid UTF-8 (save the file as UTF-8)"
        );
        assert_eq!(
            message(b"ref,first_name\n1,Ann\n"),
            "people.csv: no column named 'id' to take ids from; the columns are: ref, first_name"
        );
        assert_eq!(
            message(b"id,first_name\n1,Ann\n2,Bob\n1,Cat\n"),
            "people.csv: rows 2 and 4, column 'id': the id '1' appears more than once"
        );
        assert_eq!(
            message(b"id,first_name\n1,Ann\n ,Bob\n"),
            "people.csv: row 3, column 'id': the id is empty"
        );
        assert!(message(b"id,favourite\n1,red\n").contains("no column in common"));
        assert_eq!(
            message(b"id,bf_name\n1,!!!\n"),
            "people.csv: row 2, column 'bf_name': not a base64 encoding: Invalid symbol 33, offset 0."
        );
    }

    #[test]
    fn fields_are_the_shared_recognised_columns() {
        let left = read(b"id,Surname,dob,notes,phone\n1,Lee,01/02/2003,x,07700900123\n").unwrap();
        let right = Table::read(
            "right.csv",
            &b"id,dob,Surname,notes\n9,2003-02-01,Lee,y\n"[..],
            "id",
        )
        .unwrap();
        let (fields, ignored) = choose_fields(&[&left, &right], &HashMap::new()).unwrap();
        let names: Vec<(&str, FieldKind)> =
            fields.iter().map(|f| (f.name.as_str(), f.kind)).collect();
        assert_eq!(
            names,
            vec![
                ("Surname", FieldKind::FamilyName),
                ("dob", FieldKind::DateOfBirth)
            ]
        );
        assert_eq!(ignored, vec!["notes".to_string()]);
        let configured = HashMap::from([("notes".to_string(), FieldKind::Place)]);
        assert_eq!(
            choose_fields(&[&left, &right], &configured)
                .unwrap()
                .0
                .len(),
            3
        );
    }

    #[test]
    fn the_key_check_is_read_and_not_compared_as_a_field() {
        let encoded = read(b"id,bf_given,key_check\n1,AAAAAAAAAAA=,ab12\n2,,ab12\n").unwrap();
        assert_eq!(encoded.key_check().unwrap().as_deref(), Some("ab12"));
        let (fields, ignored) = choose_fields(&[&encoded], &HashMap::new()).unwrap();
        assert_eq!(fields.len(), 1);
        assert!(ignored.is_empty(), "{ignored:?}");
        let mixed = read(b"id,bf_given,key_check\n1,AAAAAAAAAAA=,ab12\n2,,cd34\n").unwrap();
        assert_eq!(
            mixed.key_check().unwrap_err().to_string(),
            "people.csv: row 3, column 'key_check': the key check differs from the first row's (or is empty): the rows were not all encoded with one key"
        );
        let older = read(b"id,bf_given\n1,AAAAAAAAAAA=\n").unwrap();
        assert_eq!(older.key_check().unwrap(), None);
    }
}
