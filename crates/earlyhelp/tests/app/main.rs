//! One integration test binary (it links once, which matters on two cores). Each module
//! starts the real server on a random port against a fresh database; most tests run twice,
//! on SQLite and on PostgreSQL.

mod helpers;

mod admin;
mod asks;
mod audit;
mod auth;
mod backup;
mod browser;
mod budgeting;
mod cases;
mod cli;
mod cohorts;
mod connections;
mod deprivation;
mod directory;
mod directory_search;
mod encoded_matching;
mod extracts;
mod family_help;
mod family_page;
mod giving;
mod governance;
mod grants;
mod hardening;
mod help;
mod home;
mod hostile;
mod impact;
mod insiders;
mod links;
mod listings;
mod mail;
mod matching;
mod matching_journey;
mod measures;
mod money;
mod nhs_number;
mod observability;
mod outcomes;
mod plain_words;
mod second_factor;
mod serious;
mod several_servers;
mod sharing;
mod social_value;
mod surveys;
mod young_people;
